import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { dirname, resolve } from 'path';
import { processStart, processState, sameStartClock, warnOnce } from './process-info';

/** What is assumed where a lock holder's start cannot be read, to tell it from a later process given the same pid. */
const UNKNOWN_START =
  "a process's start time could not be read (no /proc, and `ps -o lstart=` did not answer), so a lock's holder is known " +
  'by its pid alone: a lock left by a crashed process whose pid now belongs to another is waited for until it times out';

/** A lock file nobody can read this long after it was last written is debris, not a lock being written. */
const UNREADABLE_GRACE_MS = 10_000;

/**
 * A workspace-level lock file for what git cannot do concurrently (worktree
 * add/remove, branch changes, integration). The holder's pid and start time are
 * in the file: a lock whose holder is gone (or whose pid now belongs to another
 * process) is taken over, so a crashed run never leaves it stuck.
 */
export async function withLock<T>(path: string, work: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  // Within one process, callers queue in order and each takes over the moment the
  // previous one is done; between processes, the lock file decides.
  const key = resolve(path);
  const previous = queues.get(key) ?? Promise.resolve();
  let done = () => undefined as void;
  const turn = new Promise<void>((next) => (done = next));
  const last = previous.then(() => turn);
  queues.set(key, last);
  try {
    await previous;
    const mine = await acquire(path, timeoutMs);
    try {
      return await work();
    } finally {
      release(path, mine);
    }
  } finally {
    done();
    if (queues.get(key) === last) queues.delete(key);
  }
}

/**
 * Each lock's queue of this process's callers, by the lock file's path. Per-process
 * state, on purpose: the lock file orders processes, and this orders the callers
 * within one, whichever run or session they belong to.
 */
const queues = new Map<string, Promise<void>>();

/** Whether process `pid` runs (EPERM: it does, as another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock file's content; undefined where there is none (a holder let go of it). */
function readIfAny(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf-8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Whether the holder that wrote `content` into the lock file `path` still holds it. */
function holderAlive(path: string, content: string): boolean {
  let holder: { pid?: unknown; start?: unknown };
  try {
    holder = JSON.parse(content);
  } catch {
    // Unreadable: garbage, or written this instant by an older writer. Held, unless it has sat there a while.
    try {
      return Date.now() - statSync(path).mtimeMs < UNREADABLE_GRACE_MS;
    } catch {
      return false;
    }
  }
  const pid = Number(holder?.pid);
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return false;
  // A zombie has ended; a different start time, read the same way, means the pid was reused by another process.
  if (processState(pid) === 'Z') return false;
  if (typeof holder.start !== 'string') return true;
  const start = processStart(pid);
  if (start === undefined) {
    if (!processAlive(pid)) return false;
    warnOnce(UNKNOWN_START);
    return true;
  }
  return !sameStartClock(start, holder.start) || start === holder.start;
}

/**
 * Removes the lock file `path` if it still holds `dead`, the content of a holder found gone, and
 * returns true; returns false while another process is removing one. Only a holder letting go of
 * its own lock, or a process holding the lock's breaker (`<lock>.break`), ever removes a lock
 * file: checking the content and removing the file are then one step for everybody else, so a
 * lock some other process has taken meanwhile is never removed (which two processes that both
 * found the holder gone could otherwise do, and both go on as its holder).
 */
function breakStale(path: string, dead: string, content: string): boolean {
  const breaker = `${path}.break`;
  if (!tryCreate(breaker, content)) {
    // A breaker whose holder is gone (it ended while breaking a lock) is debris.
    const other = readIfAny(breaker);
    if (other !== undefined && !holderAlive(breaker, other)) removeDebris(breaker, other);
    return false;
  }
  try {
    if (readIfAny(path) === dead) rmSync(path, { force: true });
  } finally {
    release(breaker, content);
  }
  return true;
}

/**
 * Removes the breaker file `path` left by a process that ended while breaking a lock, if it still
 * holds `seen`. Moving it aside first and comparing what was moved means a breaker another
 * process created meanwhile is put back, not removed.
 */
function removeDebris(path: string, seen: string): void {
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  if (readFileSync(aside, 'utf-8') !== seen) {
    try {
      linkSync(aside, path);
    } catch {
      // Someone holds it again; theirs stands.
    }
  }
  rmSync(aside, { force: true });
}

/** This process's drafts so far: each draft file's name is unique within the process (its pid names the process). */
let drafts = 0;

/**
 * Creates the lock file with its content in one step: written beside it, then
 * hard-linked into place (which fails if the lock exists), so nobody ever reads
 * an empty or half-written lock. Returns false if the lock exists.
 */
function tryCreate(path: string, content: string): boolean {
  const draft = `${path}.${process.pid}.${drafts++}.draft`;
  writeFileSync(draft, content);
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(draft, { force: true });
  }
}

/** Removes the lock only if it is still this holder's. */
function release(path: string, content: string): void {
  try {
    if (readFileSync(path, 'utf-8') === content) rmSync(path, { force: true });
  } catch {
    // Already gone.
  }
}

/** This process's start, read once: where ps answers, every read starts a process. */
let ownStart: { start: string | undefined } | undefined;

async function acquire(path: string, timeoutMs: number): Promise<string> {
  mkdirSync(dirname(path), { recursive: true });
  ownStart ??= { start: processStart(process.pid) };
  const { start } = ownStart;
  if (start === undefined) warnOnce(UNKNOWN_START);
  const content = JSON.stringify({
    pid: process.pid,
    start,
    since: new Date().toISOString(),
    nonce: Math.random(),
  });
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    if (tryCreate(path, content)) return content;
    const held = readIfAny(path);
    // Its holder let go of it meanwhile: try again at once.
    if (held === undefined) continue;
    if (!holderAlive(path, held) && breakStale(path, held, content)) continue;
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for the lock ${path}, held by a running process. ` +
          'If no fanout run is active, delete the file and run again.',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, wait + Math.random() * wait));
    wait = Math.min(wait * 2, 50);
  }
}
