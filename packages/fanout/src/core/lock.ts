import { closeSync, linkSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'fs';
import { dirname } from 'path';

/**
 * A workspace-level lock file for what git cannot do concurrently (worktree
 * add/remove, branch changes, integration). The holder's pid is in the file: a
 * lock whose holder is gone is taken over, so a crashed run never leaves it stuck.
 */
export async function withLock<T>(path: string, work: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  await acquire(path, timeoutMs);
  try {
    return await work();
  } finally {
    rmSync(path, { force: true });
  }
}

function holderAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(JSON.parse(readFileSync(path, 'utf-8')).pid);
  } catch {
    // Unreadable: either being written this instant or garbage. Treat as held; the timeout bounds it.
    return true;
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes a lock whose holder is dead. Moving it aside first and comparing what
 * was moved means two processes that both saw the dead holder cannot delete a
 * lock the faster one has meanwhile created: a live lock moved by mistake is put back.
 */
function takeOverStale(path: string): void {
  let seen: string;
  try {
    seen = readFileSync(path, 'utf-8');
  } catch {
    return;
  }
  const aside = `${path}.${process.pid}.stale`;
  try {
    renameSync(path, aside);
  } catch {
    return;
  }
  if (readFileSync(aside, 'utf-8') === seen) {
    rmSync(aside, { force: true });
    return;
  }
  try {
    linkSync(aside, path);
  } catch {
    // Someone holds it again; theirs stands.
  }
  rmSync(aside, { force: true });
}

async function acquire(path: string, timeoutMs: number): Promise<void> {
  mkdirSync(dirname(path), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let wait = 5;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, JSON.stringify({ pid: process.pid, since: new Date().toISOString() }));
      closeSync(fd);
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!holderAlive(path)) {
      takeOverStale(path);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting for the lock ${path}, held by a running process.`);
    }
    await new Promise((resolve) => setTimeout(resolve, wait + Math.random() * wait));
    wait = Math.min(wait * 2, 200);
  }
}
