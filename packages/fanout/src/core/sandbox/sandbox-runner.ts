import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** The script that runs one command inside the library (see its header for why a process of its own). */
const SANDBOX_RUNNER = join(__dirname, 'runner.mjs');

/**
 * What the library reads from the runner's environment while it sets up, before the command's own
 * environment replaces it: where its tools are, the home folder, the host's proxy. A runner started
 * with the same values serves any command.
 */
const SETUP_VARIABLES = ['PATH', 'HOME', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SRT_DEBUG'];

function setupEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(SETUP_VARIABLES.filter((name) => env[name] !== undefined).map((name) => [name, env[name]]));
}

/** Runners started and not told their command yet: ended with the process if nobody takes them. */
const waiting = new Set<SandboxRunner>();
let exitHandlerInstalled = false;

/**
 * A runner process (runner.mjs), started ahead of its command: it loads the library and sets it up
 * while the session makes its worktree, and then runs the one command it is sent. Until then it holds
 * nothing open that would keep fanout's process alive.
 */
export class SandboxRunner {
  readonly child: ChildProcess;
  /** The runner's own folder (its settings, sockets and denial log), outside everything the command may write. */
  readonly control: string;
  /** Whether the runner set the library up (true) or ended first (false). */
  readonly ready: Promise<boolean>;
  private readonly setup: string;
  private ended = false;
  private sent = false;

  constructor(env: NodeJS.ProcessEnv) {
    this.control = mkdtempSync(join(tmpdir(), 'fanout-sandbox-'));
    const started = setupEnv(env);
    this.setup = JSON.stringify(started);
    this.child = spawn(process.execPath, [SANDBOX_RUNNER, this.control], {
      cwd: this.control,
      env: started,
      // Its own process group, as every agent process has: a timeout ends the runner and all it started.
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
    });
    this.ready = new Promise<boolean>((resolve) => {
      this.child.once('message', (message: { ready?: boolean }) => resolve(message?.ready === true));
      this.child.once('exit', () => resolve(false));
      this.child.once('error', () => resolve(false));
    });
    this.child.on('exit', () => (this.ended = true));
    this.child.on('error', () => (this.ended = true));
    this.hold(false);
    waiting.add(this);
    if (!exitHandlerInstalled) {
      exitHandlerInstalled = true;
      process.once('exit', () => {
        for (const runner of waiting) runner.close();
      });
    }
  }

  /** Whether it can still take a command started with `env`: alive, not told one yet, set up with the same values. */
  fits(env: NodeJS.ProcessEnv): boolean {
    return !this.ended && !this.sent && this.setup === JSON.stringify(setupEnv(env));
  }

  /** Tells the runner its policy and command (see runner.mjs); from here it is the command's process. */
  send(message: object): void {
    this.sent = true;
    waiting.delete(this);
    this.hold(true);
    // A runner that failed meanwhile has closed its channel: its exit and stderr say why.
    this.child.send(message, () => undefined);
  }

  /** Ends a runner never told its command, and removes its folder. */
  close(): void {
    waiting.delete(this);
    if (!this.sent && !this.ended && this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (!this.sent) rmSync(this.control, { recursive: true, force: true });
  }

  /** Whether the runner's process, pipes and channel keep fanout's process alive. */
  private hold(hold: boolean): void {
    const handles = [this.child, this.child.stdin, this.child.stdout, this.child.stderr, this.child.channel];
    for (const handle of handles) {
      const referable = handle as { ref?: () => void; unref?: () => void } | null | undefined;
      if (hold) referable?.ref?.();
      else referable?.unref?.();
    }
  }
}

export function startSandboxRunner(env: NodeJS.ProcessEnv): SandboxRunner {
  return new SandboxRunner(env);
}

/**
 * Runners started for sessions yet to come in this process (a batch runs a run's sessions in one):
 * each set up while earlier agents work, so that a session starting later finds its runner ready.
 */
const spares: SandboxRunner[] = [];

/**
 * How many sessions this process has still to start, as its batch said (`expectSessions`); unknown
 * in a process of one session, which starts no spare. A spare is started only for a session to come:
 * a runner nobody takes costs a loaded library's memory and a process for Nx to end.
 */
let sessionsToCome = 0;

/** The batch's count of sessions still to start in this process (each `sessionRunner` call takes one). */
export function expectSessions(count: number): void {
  sessionsToCome = Math.max(0, count);
  if (sessionsToCome === 0) closeSpareRunners();
}

/** Ends every spare: the batch has no session left to start. */
export function closeSpareRunners(): void {
  for (const runner of spares.splice(0)) runner.close();
}

/** The runner for a session starting now: a spare that fits `env`, else one started now. */
export function sessionRunner(env: NodeJS.ProcessEnv): SandboxRunner {
  sessionsToCome = Math.max(0, sessionsToCome - 1);
  const index = spares.findIndex((runner) => runner.fits(env));
  const runner = index >= 0 ? spares.splice(index, 1)[0] : startSandboxRunner(env);
  // More spares than sessions to come: the extra ones would never be taken.
  while (spares.length > sessionsToCome) spares.pop()?.close();
  return runner;
}

/**
 * Starts a spare runner in `env` for a session to come, unless `limit` already wait (as many as the
 * sessions under way: the most that can start next) or every session to come has one.
 */
export function startSpareRunner(env: NodeJS.ProcessEnv, limit: number): SandboxRunner | undefined {
  for (let index = spares.length - 1; index >= 0; index--) {
    if (!spares[index].fits(env)) spares.splice(index, 1)[0].close();
  }
  if (spares.length >= Math.min(limit, sessionsToCome)) return undefined;
  const spare = startSandboxRunner(env);
  spares.push(spare);
  return spare;
}

/** `runner` when it can take a command in `env`; else closes it and gives none. */
export function usableRunner(runner: SandboxRunner | undefined, env: NodeJS.ProcessEnv): SandboxRunner | undefined {
  if (!runner) return undefined;
  if (runner.fits(env)) return runner;
  runner.close();
  return undefined;
}
