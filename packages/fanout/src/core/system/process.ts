import { spawn } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import { addDenials, type ProcessSandbox } from '../sandbox/session-sandbox';
import { parseDenials, sandboxCommand } from '../sandbox/sandbox';
import { CappedOutput } from './capped-output';
import { createStreamRedactor } from './redact';

export interface ProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Appends the process's stdout and stderr here, capped (see CappedOutput). */
  logFile: string;
  /** Also forwards output (to Nx's terminal output); off in tests. */
  echo?: boolean;
  /** Data for stdin; stdin is closed after it (or at once when absent). */
  stdin?: string;
  /** Text transformations applied to output before it is logged (secret redaction). */
  redact?: (text: string) => string;
  /** Keep at most this many bytes of stdout in memory for the caller to parse. */
  captureBytes?: number;
  /** Called with each piece of stdout as it arrives (redacted): to watch a process that reports events. */
  onStdout?: (text: string) => void;
  /** Runs the process inside the sandbox under this policy; what the sandbox denied is added to its `denied`. */
  sandbox?: ProcessSandbox;
  /** Ends the whole process group (SIGTERM, then SIGKILL) when aborted: a session stopped at the run's budget. */
  signal?: AbortSignal;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** Ended by `signal`, with its process group. */
  aborted?: boolean;
  /** The last `captureBytes` of stdout. */
  stdout: string;
  /** The last STDERR_TAIL_CHARS of stderr: where most CLIs say why they failed. */
  stderr: string;
}

const STDERR_TAIL_CHARS = 64 * 1024;

/** How to end each process group fanout started and has not seen end, so an interrupt can end them all. */
const running = new Set<() => void>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is already gone.
  }
}

let handlersInstalled = false;
function installSignalHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      for (const end of running) end();
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Runs argv (no shell) in its own process group, streaming output to a capped
 * log file rather than memory. At the timeout the whole group gets SIGTERM,
 * then SIGKILL; when the program itself exits, whatever it left running in its
 * group is killed, so a forgotten background helper can neither outlive the
 * session nor hold its output pipes open.
 */
export function runProcess(argv: readonly string[], options: ProcessOptions): Promise<ProcessResult> {
  installSignalHandlers();
  // Every agent process goes through here: sandboxed, it is the sandbox's runner that starts it (the
  // session's, when it has one), in a process group of its own, and ends what it left.
  const sandboxed =
    options.sandbox &&
    sandboxCommand(options.sandbox.policy, argv[0], argv.slice(1), {
      cwd: options.cwd,
      env: options.env,
      runner: options.sandbox.runner?.(),
    });
  const program = sandboxed ? `${argv[0]} (sandboxed)` : argv[0];
  const log = new CappedOutput(options.logFile, { echo: options.echo });
  const capture = options.captureBytes ?? 1024 * 1024;
  // The last `capture` characters of stdout, as a queue of chunks: no string that grows with the output.
  const captured: string[] = [];
  let capturedLength = 0;
  let stderrTail = '';
  return new Promise((resolve) => {
    const plain = sandboxed
      ? undefined
      : spawn(argv[0], argv.slice(1), {
          cwd: options.cwd,
          env: options.env,
          detached: true,
          stdio: ['pipe', 'pipe', 'pipe'],
        });
    const child = sandboxed?.child ?? (plain as NonNullable<typeof plain>);
    // The process group: signalled here, or, sandboxed, by the runner that started it.
    const signalGroup = (signal: NodeJS.Signals) => {
      if (sandboxed) sandboxed.child.kill(signal);
      else if (child.pid !== undefined) killGroup(child.pid, signal);
    };
    const endNow = () => {
      if (sandboxed) {
        if (sandboxed.child.pid !== undefined) killGroup(sandboxed.child.pid, 'SIGKILL');
      } else signalGroup('SIGKILL');
    };
    running.add(endNow);
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let closeTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), 5_000);
    }, options.timeoutMs);

    // One per stream: a secret (or a UTF-8 character) split between two chunks is still handled whole.
    const redactors = { stdout: createStreamRedactor(options.redact), stderr: createStreamRedactor(options.redact) };
    const emit = (text: string, stream: 'stdout' | 'stderr') => {
      if (text === '') return;
      log.write(text, stream);
      if (stream === 'stdout') {
        options.onStdout?.(text);
        captured.push(text);
        capturedLength += text.length;
        while (capturedLength - captured[0].length >= capture) capturedLength -= (captured.shift() as string).length;
      } else {
        stderrTail = (stderrTail + text).slice(-STDERR_TAIL_CHARS);
      }
    };
    const write = (chunk: Buffer, stream: 'stdout' | 'stderr') => emit(redactors[stream].push(chunk), stream);
    child.stdout?.on('data', (chunk: Buffer) => write(chunk, 'stdout'));
    child.stderr?.on('data', (chunk: Buffer) => write(chunk, 'stderr'));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.stdin ?? '');

    let finished = false;
    const abort = () => {
      if (finished || aborted) return;
      aborted = true;
      signalGroup('SIGTERM');
      killTimer ??= setTimeout(() => signalGroup('SIGKILL'), 5_000);
    };
    if (options.signal?.aborted) abort();
    else options.signal?.addEventListener('abort', abort, { once: true });
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      if (closeTimer) clearTimeout(closeTimer);
      // What the program left in its group (sandboxed, the runner has ended it already).
      if (!sandboxed) signalGroup('SIGKILL');
      running.delete(endNow);
      for (const stream of ['stdout', 'stderr'] as const) emit(redactors[stream].end(), stream);
      if (sandboxed && options.sandbox) {
        // The runner's log, and what the process's own refusals named ("EROFS: read-only file system, ...").
        addDenials(options.sandbox.denied, [...sandboxed.denials(), ...parseDenials(stderrTail)], options.sandbox.policy);
        sandboxed.cleanup();
      }
      const joined = captured.join('');
      const stdout = joined.length > capture ? joined.slice(joined.length - capture) : joined;
      options.signal?.removeEventListener('abort', abort);
      if (aborted) log.write(`\n[fanout] ${program} was stopped, with its process group\n`, 'stderr');
      void log.end().then(() => resolve({ exitCode, signal, timedOut, ...(aborted ? { aborted } : {}), stdout, stderr: stderrTail }));
    };
    child.on('error', (error) => {
      log.write(`\n[fanout] could not start ${program}: ${error.message}\n`, 'stderr');
      finish(127, null);
    });
    plain?.on('exit', () => {
      signalGroup('SIGKILL');
      // A helper that left the group (setsid) may still hold the pipes: stop waiting for them.
      closeTimer = setTimeout(() => {
        plain.stdout?.destroy();
        plain.stderr?.destroy();
      }, 2_000);
    });
    child.on('close', finish);
  });
}

/**
 * Ends the processes a killed run left working in `worktree`: its agents, and
 * what they started, recognized by the FANOUT_WORKTREE they were given (a shell
 * of yours that is merely inside the folder does not have it). Needed only when
 * the run was killed with SIGKILL, when no handler could end them; without
 * /proc (not Linux) there is nothing to look at. Returns the pids it killed.
 */
export function endStrays(worktree: string): number[] {
  const marker = `\0FANOUT_WORKTREE=${worktree}\0`;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const killed: number[] = [];
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (!`\0${readFileSync(`/proc/${pid}/environ`, 'utf-8')}`.includes(marker)) continue;
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Ended meanwhile, or not ours to read.
    }
  }
  return killed;
}
