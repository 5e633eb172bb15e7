import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import { writeOutput } from './task-output';

/**
 * What fanout learns about another process: its command line, when it started,
 * whether it has ended. Linux answers from /proc; where there is no /proc (macOS),
 * `ps` answers, less exactly, and fanout says so once per process.
 */
export interface ProcessReaders {
  /** A file under /proc (`/proc/42/stat`); throws where it cannot be read. */
  readProc(path: string): string;
  /** What `ps -o <field>= -p <pid>` prints, trimmed; undefined when ps fails or knows no such process. */
  ps(pid: number, field: 'args' | 'lstart' | 'stat'): string | undefined;
}

export interface ProcessInfoOptions {
  readers?: ProcessReaders;
  /** Says what fanout assumed, where it had to; by default once per process (warnOnce). */
  warn?: (message: string) => void;
}

export const systemReaders: ProcessReaders = {
  readProc: (path) => readFileSync(path, 'utf-8'),
  ps: (pid, field) => {
    try {
      const output = execFileSync('ps', ['-o', `${field}=`, '-p', String(pid)], {
        encoding: 'utf-8',
        stdio: ['ignore', 'pipe', 'ignore'],
        // English day and month names whatever the user's locale: lstart is parsed below.
        env: { ...process.env, LC_ALL: 'C' },
        timeout: 5_000,
      }).trim();
      return output === '' ? undefined : output;
    } catch {
      return undefined;
    }
  },
};

const warned = new Set<string>();

/** Prints `message` as a warning the first time this process meets it. */
export function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  writeOutput(`[fanout] warning: ${message}\n`, 'stderr');
}

/** Linux counts a process's start in clock ticks after boot (USER_HZ), 100 a second on every architecture it runs on. */
const TICKS_PER_SECOND = 100;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ps -o lstart=` in the C locale, "Sun Dec  6 16:51:51 2026" (local time), as ms since the epoch. */
export function parseLstart(text: string): number | undefined {
  const match = /^[A-Z][a-z]{2} ([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/.exec(text.trim());
  const month = match ? MONTHS.indexOf(match[1]) : -1;
  if (!match || month < 0) return undefined;
  const [day, hours, minutes, seconds, year] = match.slice(2).map(Number);
  return new Date(year, month, day, hours, minutes, seconds).getTime();
}

/**
 * A process's command line, one argument per item. From ps, the arguments come
 * joined by spaces without quoting: they are split at spaces, which is right only
 * when no argument holds a space (`--parallel=8` is read right; a quoted argument
 * with a space in it comes out as two).
 */
export function processCommandLine(
  pid: number,
  { readers = systemReaders, warn = warnOnce }: ProcessInfoOptions = {},
): string[] | undefined {
  try {
    return readers.readProc(`/proc/${pid}/cmdline`).split('\0').filter(Boolean);
  } catch {
    const args = readers.ps(pid, 'args');
    if (args === undefined) return undefined;
    warn(
      `/proc/${pid}/cmdline could not be read (no /proc here), so the command line of process ${pid} was read with ` +
        '`ps -o args=`, its arguments taken as separated by spaces',
    );
    return args.split(/\s+/).filter(Boolean);
  }
}

function procStartTicks(pid: number, readers: ProcessReaders): string | undefined {
  try {
    const stat = readers.readProc(`/proc/${pid}/stat`);
    // Field 22; the name in parentheses (field 2) may hold spaces and parentheses of its own.
    const ticks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return ticks !== undefined && /^\d+$/.test(ticks) ? ticks : undefined;
  } catch {
    return undefined;
  }
}

function psStartMs(pid: number, { readers = systemReaders, warn = warnOnce }: ProcessInfoOptions): number | undefined {
  const lstart = readers.ps(pid, 'lstart');
  const at = lstart === undefined ? undefined : parseLstart(lstart);
  if (at !== undefined) warn('/proc could not be read (no /proc here), so process start times come from `ps -o lstart=`, to the second');
  return at;
}

/**
 * When a process started, as a token that tells it from a later process given
 * the same pid: its start in clock ticks after boot (/proc), or `@` and its start
 * in seconds since the epoch (ps). Tokens of the two kinds are not comparable
 * (sameStartClock). Undefined where neither can tell.
 */
export function processStart(pid: number, options: ProcessInfoOptions = {}): string | undefined {
  const ticks = procStartTicks(pid, options.readers ?? systemReaders);
  if (ticks !== undefined) return ticks;
  const at = psStartMs(pid, options);
  return at === undefined ? undefined : `@${Math.floor(at / 1000)}`;
}

/** Whether two processStart tokens were read the same way, and so may be compared. */
export function sameStartClock(a: string, b: string): boolean {
  return a.startsWith('@') === b.startsWith('@');
}

/** When a process started, in ms since the epoch (/proc: to 10 ms; ps: to the second); undefined where neither can tell. */
export function processStartedAt(pid: number, options: ProcessInfoOptions = {}): number | undefined {
  const readers = options.readers ?? systemReaders;
  const ticks = procStartTicks(pid, readers);
  if (ticks !== undefined) {
    try {
      const boot = Number(/^btime (\d+)$/m.exec(readers.readProc('/proc/stat'))?.[1]);
      if (boot > 0) return boot * 1000 + (Number(ticks) * 1000) / TICKS_PER_SECOND;
    } catch {
      // No boot time: ps may still tell.
    }
  }
  return psStartMs(pid, options);
}

/**
 * A process's state letter (`Z` for a zombie: ended, not yet collected by its
 * parent), from /proc/<pid>/stat or `ps -o stat=`; undefined where neither tells.
 */
export function processState(pid: number, { readers = systemReaders, warn = warnOnce }: ProcessInfoOptions = {}): string | undefined {
  try {
    const stat = readers.readProc(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(')') + 2)[0];
  } catch {
    const state = readers.ps(pid, 'stat')?.[0];
    if (state !== undefined) warn('/proc could not be read (no /proc here), so process states come from `ps -o stat=`');
    return state;
  }
}
