import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface CommandResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, ANSI colours removed, for assertions on messages. */
  output: string;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Past this the command and everything it started are killed. Default 5 minutes. */
  timeoutMs?: number;
  /** Resolve with the result instead of rejecting when the command exits non-zero. */
  allowFailure?: boolean;
}

const running = new Set<ChildProcess>();

/**
 * Runs `command args...` (argv, never a shell string) and collects its output.
 *
 * It is asynchronous on purpose: the local registry lives in this process, so a
 * synchronous spawn would block the event loop that has to answer npm's requests.
 */
export function runCommand(command: string, args: string[], options: RunOptions): Promise<CommandResult> {
  const timeoutMs = options.timeoutMs ?? 5 * 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    running.add(child);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killTree(child);
    }, timeoutMs);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => {
      clearTimeout(timer);
      running.delete(child);
      reject(error);
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const output = stripAnsi(`${stdout}\n${stderr}`);
      const result = { status, stdout, stderr, output };
      if (status === 0 || (options.allowFailure && signal === null)) {
        resolve(result);
        return;
      }
      const how = timedOut
        ? `did not finish within ${timeoutMs / 1000} s and was killed`
        : signal
          ? `was killed by ${signal}`
          : `exited with ${status}`;
      reject(
        new Error(
          `\`${[command, ...args].join(' ')}\` in ${options.cwd} ${how}.\n` +
            `--- output (last 6000 characters) ---\n${output.slice(-6000)}`,
        ),
      );
    });
  });
}

/** Kills the commands still running, say after a test timed out, before their folder goes. */
export function killRunningCommands(): void {
  for (const child of running) killTree(child);
}

/**
 * Killing npx alone would leave the nx and npm processes under it running, so this kills
 * every descendant too (found with `ps`, so it works on Linux and macOS alike).
 */
function killTree(child: ChildProcess): void {
  if (child.pid === undefined) return;
  const childrenOf = new Map<number, number[]>();
  const ps = spawnSync('ps', ['-A', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  for (const line of (ps.stdout ?? '').split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number);
    if (pid && ppid) childrenOf.set(ppid, [...(childrenOf.get(ppid) ?? []), pid]);
  }
  const tree: number[] = [];
  const visit = (pid: number) => {
    tree.push(pid);
    for (const descendant of childrenOf.get(pid) ?? []) visit(descendant);
  };
  visit(child.pid);
  for (const pid of tree) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

// Variables an outer `npx nx e2e ...` leaves behind that would point a nested
// npm or Nx at this repository instead of the workspace under test.
const LEAKING_VARIABLE = /^(NX_|npm_|INIT_CWD$|NODE_ENV$)/i;

/** The environment of this process without what leaks from the outer run, plus `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!LEAKING_VARIABLE.test(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

function stripAnsi(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '');
}
