import { spawn } from 'child_process';
import { createWriteStream } from 'fs';

export interface ProcessOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Appends the process's stdout and stderr here. */
  logFile: string;
  /** Also forwards output (to Nx's terminal output); off in tests. */
  echo?: boolean;
  /** Data for stdin; stdin is closed after it (or at once when absent). */
  stdin?: string;
  /** Text transformations applied to output before it is logged (secret redaction). */
  redact?: (text: string) => string;
  /** Keep at most this many bytes of stdout in memory for the caller to parse. */
  captureBytes?: number;
}

export interface ProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The last `captureBytes` of stdout. */
  stdout: string;
}

/** Every process group fanout started and has not seen end, so an interrupt can end them all. */
const running = new Set<number>();

export function killGroup(pid: number, signal: NodeJS.Signals): void {
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
      for (const pid of running) killGroup(pid, 'SIGKILL');
      process.kill(process.pid, signal);
    });
  }
}

/**
 * Runs argv (no shell) in its own process group, streaming output to a log file
 * rather than memory. At the timeout the whole group gets SIGTERM, then SIGKILL.
 */
export function runProcess(argv: readonly string[], options: ProcessOptions): Promise<ProcessResult> {
  installSignalHandlers();
  const [program, ...args] = argv;
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const capture = options.captureBytes ?? 1024 * 1024;
  let stdout = '';
  return new Promise((resolve) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) running.add(child.pid);
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        killGroup(child.pid, 'SIGTERM');
        killTimer = setTimeout(() => child.pid !== undefined && killGroup(child.pid, 'SIGKILL'), 5_000);
      }
    }, options.timeoutMs);

    const write = (chunk: Buffer, stream: 'stdout' | 'stderr') => {
      const text = options.redact ? options.redact(chunk.toString('utf-8')) : chunk.toString('utf-8');
      log.write(text);
      if (options.echo) (stream === 'stdout' ? process.stdout : process.stderr).write(text);
      if (stream === 'stdout') {
        stdout += text;
        if (stdout.length > capture) stdout = stdout.slice(stdout.length - capture);
      }
    };
    child.stdout?.on('data', (chunk: Buffer) => write(chunk, 'stdout'));
    child.stderr?.on('data', (chunk: Buffer) => write(chunk, 'stderr'));
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(options.stdin ?? '');

    let finished = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      if (child.pid !== undefined) {
        // Anything the agent left running in its group goes with it.
        killGroup(child.pid, 'SIGKILL');
        running.delete(child.pid);
      }
      log.end(() => resolve({ exitCode, signal, timedOut, stdout }));
    };
    child.on('error', (error) => {
      log.write(`\n[fanout] could not start ${program}: ${error.message}\n`);
      finish(127, null);
    });
    child.on('close', finish);
  });
}
