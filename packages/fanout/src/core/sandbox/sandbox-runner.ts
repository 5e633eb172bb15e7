import { spawn, type ChildProcess } from 'child_process';
import { EventEmitter, once } from 'events';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { PassThrough, Writable } from 'stream';

/** The script that runs commands inside the library (see its header for why a process of its own). */
const SANDBOX_RUNNER = join(__dirname, 'runner.mjs');

/**
 * What the library reads from the runner's environment while it sets up, before each command's own
 * environment replaces it: where its tools are, the home folder, the host's proxy. A runner started
 * with the same values serves any command.
 */
const SETUP_VARIABLES = ['PATH', 'HOME', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SRT_DEBUG'];

function setupEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(SETUP_VARIABLES.filter((name) => env[name] !== undefined).map((name) => [name, env[name]]));
}

/** What a command is: its policy's settings for the library, and how to start it (see runner.mjs). */
export interface RunnerCommandSpec {
  settings: object;
  insideEnv: Record<string, string>;
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** The most of a runner's own output kept while no command runs: what says why it failed to set up. */
const RUNNER_OUTPUT_KEPT = 16 * 1024;

/**
 * One command a runner runs, seen as a process: its stdio, its process group's pid (once started),
 * `exit` and `close` as a child process has them. Its output comes over the runner's channel.
 */
export class RunnerCommand extends EventEmitter {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  readonly stdin: Writable;
  /** The command's process (the leader of its process group), once the runner has started it. */
  pid: number | undefined;
  private done = false;

  constructor(
    readonly id: number,
    private readonly post: (message: object) => void,
  ) {
    super();
    this.stdin = new Writable({
      write: (data: Buffer, _encoding, callback) => {
        this.post({ stdin: { id, data } });
        callback();
      },
      final: (callback) => {
        this.post({ stdinEnd: { id } });
        callback();
      },
    });
  }

  /** Signals the command's process group (the runner sends it); the runner goes on for the next command. */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (!this.done) this.post({ kill: { id: this.id, signal } });
  }

  /** Output the runner relayed. */
  output(stream: 'stdout' | 'stderr', data: Uint8Array | string): void {
    if (!this.done) this[stream].write(typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }

  /** The command has ended, with everything it started: its output ends, then `exit` and `close` come, once `settle` has run. */
  async end(code: number | null, signal: NodeJS.Signals | null, settle: () => void): Promise<void> {
    if (this.done) return;
    this.done = true;
    const streams = [this.stdout, this.stderr];
    for (const stream of streams) {
      // Read by nobody: let it flow, so that it ends.
      if (stream.readableFlowing === null) stream.resume();
      stream.end();
    }
    await Promise.all(streams.map((stream) => (stream.readableEnded ? undefined : once(stream, 'end'))));
    settle();
    this.emit('exit', code, signal);
    this.emit('close', code, signal);
  }
}

/** Runners set up and running nothing, in this process: ended with it. */
const runners = new Set<SandboxRunner>();
let exitHandlerInstalled = false;

/**
 * A runner process (runner.mjs), started ahead of its first command: it loads the library and sets it
 * up while the session makes its worktree, then runs the commands it is sent, one at a time, each
 * under its own policy. While it runs nothing, it holds nothing open that would keep fanout's process
 * alive.
 */
export class SandboxRunner {
  /** The runner's process, in a process group of its own. */
  readonly child: ChildProcess;
  /** The runner's own folder (its sockets and denial logs), outside everything its commands may write. */
  readonly control: string;
  /** Whether the runner set the library up (true) or ended first (false). */
  readonly ready: Promise<boolean>;
  private readonly setup: string;
  private ended = false;
  private closed = false;
  private command: RunnerCommand | undefined;
  private lastId = 0;
  /** The runner's own output (not its commands'), while no command runs. */
  private ownOutput = '';

  constructor(env: NodeJS.ProcessEnv) {
    this.control = mkdtempSync(join(tmpdir(), 'fanout-sandbox-'));
    const started = setupEnv(env);
    this.setup = JSON.stringify(started);
    this.child = spawn(process.execPath, [SANDBOX_RUNNER, this.control], {
      cwd: this.control,
      env: started,
      // Its own process group: ending fanout's process tree ends the runner, which ends its command.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      // Output travels as bytes.
      serialization: 'advanced',
    });
    this.ready = new Promise<boolean>((resolve) => {
      this.child.on('message', (message: { ready?: boolean }) => message?.ready === true && resolve(true));
      this.child.once('exit', () => resolve(false));
      this.child.once('error', () => resolve(false));
    });
    this.child.on('message', (message) => this.receive(message as RunnerMessage));
    for (const stream of [this.child.stdout, this.child.stderr]) stream?.on('data', (data: Buffer) => this.own(data.toString()));
    this.child.on('exit', (code, signal) => this.runnerEnded(code, signal));
    this.child.on('error', (error) => {
      this.own(`fanout sandbox runner: could not start: ${error.message}\n`);
      this.runnerEnded(127, null);
    });
    this.hold(false);
    runners.add(this);
    if (!exitHandlerInstalled) {
      exitHandlerInstalled = true;
      process.once('exit', () => {
        for (const runner of runners) runner.close();
      });
    }
  }

  /** Whether it can take a command now: alive, running nothing. */
  get idle(): boolean {
    return !this.ended && !this.closed && this.command === undefined;
  }

  /** Whether it can take a command started with `env` now: idle, set up with the same values. */
  fits(env: NodeJS.ProcessEnv): boolean {
    return this.idle && this.setup === JSON.stringify(setupEnv(env));
  }

  /** Whether it runs a command now. */
  get busy(): boolean {
    return this.command !== undefined;
  }

  /** Runs `spec` (see runner.mjs); the runner must fit (`fits`). Ends at once, with the runner's own output, when the runner has ended. */
  run(spec: RunnerCommandSpec): RunnerCommand {
    if (this.command) throw new Error('this sandbox runner already runs a command');
    const command = new RunnerCommand(++this.lastId, (message) => this.post(message));
    this.command = command;
    this.hold(true);
    if (this.ended) {
      setImmediate(() => this.runnerEnded(this.child.exitCode, this.child.signalCode));
      return command;
    }
    // The runner's output so far says why it failed, if it did; the command's stderr carries it.
    if (this.ownOutput) command.output('stderr', this.ownOutput);
    this.ownOutput = '';
    this.post({ run: { id: command.id, ...spec } });
    return command;
  }

  /** The denial log of `command` (see runner.mjs). */
  denialLog(command: RunnerCommand): string {
    return join(this.control, `denials-${command.id}.log`);
  }

  /** Ends the runner (and a command it runs), and removes its folder. */
  close(): void {
    this.closed = true;
    runners.delete(this);
    if (!this.ended && this.child.pid !== undefined) {
      try {
        // SIGTERM: the runner ends its command's process group and what its sandbox left, then itself.
        process.kill(this.child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    if (!this.command) rmSync(this.control, { recursive: true, force: true });
  }

  private post(message: object): void {
    if (this.ended || !this.child.connected) return;
    // A runner that failed meanwhile has closed its channel: its exit says so.
    this.child.send(message, () => undefined);
  }

  private receive(message: RunnerMessage): void {
    const command = this.command;
    if (!command) return;
    if (message.started?.id === command.id) command.pid = message.started.pid;
    else if (message.output?.id === command.id) command.output(message.output.stream, message.output.data);
    else if (message.exit?.id === command.id) void this.finish(command, message.exit.code, message.exit.signal);
  }

  private own(text: string): void {
    if (this.command) this.command.output('stderr', text);
    else this.ownOutput = (this.ownOutput + text).slice(-RUNNER_OUTPUT_KEPT);
  }

  private runnerEnded(code: number | null, signal: NodeJS.Signals | null): void {
    this.ended = true;
    runners.delete(this);
    const command = this.command;
    if (!command) return;
    if (this.ownOutput) command.output('stderr', this.ownOutput);
    void this.finish(command, code ?? (signal ? null : 126), signal);
  }

  private finish(command: RunnerCommand, code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    // Free again before whoever waits for the command hears of its end: it may run its next one at once.
    return command.end(code, signal, () => {
      if (this.command === command) this.command = undefined;
      this.hold(false);
      if (this.closed) rmSync(this.control, { recursive: true, force: true });
    });
  }

  /** Whether the runner's process, pipes and channel keep fanout's process alive: only while it runs a command. */
  private hold(hold: boolean): void {
    const handles = [this.child, this.child.stdout, this.child.stderr, this.child.channel];
    for (const handle of handles) {
      const referable = handle as { ref?: () => void; unref?: () => void } | null | undefined;
      if (hold) referable?.ref?.();
      else referable?.unref?.();
    }
  }
}

interface RunnerMessage {
  started?: { id: number; pid: number };
  output?: { id: number; stream: 'stdout' | 'stderr'; data: Uint8Array | string };
  exit?: { id: number; code: number | null; signal: NodeJS.Signals | null };
}

export function startSandboxRunner(env: NodeJS.ProcessEnv): SandboxRunner {
  return new SandboxRunner(env);
}

/**
 * Runners this process's sessions have given back, set up and running nothing: a session starting
 * later (a batch runs a run's sessions in one process) takes one rather than start its own.
 */
const idle: SandboxRunner[] = [];

/**
 * How many sessions this process has still to start, as its batch said (`expectSessions`); unknown
 * in a process of one session, which keeps no runner for later. A runner is kept only for a session
 * to come: one nobody takes costs a loaded library's memory and a process for Nx to end.
 */
let sessionsToCome = 0;

/** The batch's count of sessions still to start in this process (each `sessionRunner` call takes one). */
export function expectSessions(count: number): void {
  sessionsToCome = Math.max(0, count);
  if (sessionsToCome === 0) closeIdleRunners();
}

/** Ends every runner given back: the batch has no session left to start. */
export function closeIdleRunners(): void {
  for (const runner of idle.splice(0)) runner.close();
}

/** The runner for a session starting now: one given back that fits `env`, else one started now. */
export function sessionRunner(env: NodeJS.ProcessEnv): SandboxRunner {
  sessionsToCome = Math.max(0, sessionsToCome - 1);
  const index = idle.findIndex((runner) => runner.fits(env));
  const runner = index >= 0 ? idle.splice(index, 1)[0] : startSandboxRunner(env);
  // More runners kept than sessions to come: the extra ones would never be taken.
  while (idle.length > sessionsToCome) idle.pop()?.close();
  return runner;
}

/**
 * A session's runner, given back when the session ends: kept for a session still to come when it
 * can take a command, else ended.
 */
export function releaseRunner(runner: SandboxRunner): void {
  if (idle.length < sessionsToCome && runner.idle) idle.push(runner);
  else runner.close();
}
