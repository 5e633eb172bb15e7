import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { mkdirSync, rmSync } from 'fs';
import { dirname, join } from 'path';
import { copySessionFile, refuseLinks } from '../session/integrate';
import type { FileChange } from '../session/scope';

/**
 * A session's record of its work: a copy of every file it wrote, kept in its
 * session folder (an output of the cached session target), and for each file the
 * sha256 of the session's version and of the file where the session started.
 * Landing reads only this record, never the worktree: a session replayed from
 * Nx's cache lands exactly as one that ran now.
 */

/** The folder of a session's recorded files, inside its session folder. */
export function recordedFilesDir(sessionDir: string): string {
  return join(sessionDir, 'files');
}

export interface RecordedFile extends FileChange {
  /** The session's version (absent for a deletion). */
  sha256?: string;
  /** The file where the session started (absent: it was not there). */
  baseSha256?: string;
}

function sha256Of(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** A file's content at `commit`, as bytes; undefined when the commit has no such file. */
function blobAt(cwd: string, commit: string, path: string): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    execFile(
      'git',
      ['cat-file', 'blob', `${commit}:${path}`],
      { cwd, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' } },
      (error, stdout) => resolve(error ? undefined : stdout),
    );
  });
}

/**
 * Copies the session's accepted changes out of its worktree into `sessionDir/files`
 * (never through a link), and returns each with its hashes. The folder is made anew.
 */
export async function recordSessionFiles(
  worktree: { path: string; baseline: string },
  sessionDir: string,
  changes: readonly FileChange[],
): Promise<RecordedFile[]> {
  refuseLinks(worktree.path, changes);
  const dir = recordedFilesDir(sessionDir);
  rmSync(dir, { recursive: true, force: true });
  const recorded: RecordedFile[] = [];
  for (const change of changes) {
    const entry: RecordedFile = { ...change };
    if (change.status !== 'added') {
      const base = await blobAt(worktree.path, worktree.baseline, change.path);
      if (base) entry.baseSha256 = sha256Of(base);
    }
    if (change.status !== 'deleted') {
      const copy = join(dir, change.path);
      mkdirSync(dirname(copy), { recursive: true });
      entry.sha256 = copySessionFile(worktree.path, change.path, copy);
    }
    recorded.push(entry);
  }
  return recorded;
}
