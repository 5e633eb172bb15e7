import { existsSync, mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { withLock } from './lock';

/**
 * The lock between processes, at the moments where they interleave, played in this process by a
 * file system that lets another "process" act between two of the lock's steps.
 */
type Fs = typeof import('fs');
/**
 * What happens at each of the lock's next file operations on the test's files (another process acting
 * in between); undefined: nothing. Other files (the process's own start, read from /proc) do not count.
 */
let steps: ((() => void) | undefined)[] = [];
/** What happens instead of the next read of this path. */
let onRead: { path: string; act: () => never } | undefined;
/** The file system itself, for the lock's steps and for the other processes' acts. */
const actual = jest.requireActual<Fs>('fs');
const interleave = (path: unknown) => {
  if (String(path).includes('fanout-lock-race-')) steps.shift()?.();
};
jest.mock('fs', () => ({
  ...jest.requireActual<Fs>('fs'),
  readFileSync: jest.fn((...args: Parameters<Fs['readFileSync']>) => {
    if (onRead && args[0] === onRead.path) {
      const { act } = onRead;
      onRead = undefined;
      act();
    }
    interleave(args[0]);
    return actual.readFileSync(...args);
  }),
  statSync: jest.fn((...args: Parameters<Fs['statSync']>) => {
    try {
      return actual.statSync(...args);
    } finally {
      interleave(args[0]);
    }
  }),
  writeFileSync: jest.fn((...args: Parameters<Fs['writeFileSync']>) => {
    interleave(args[0]);
    return actual.writeFileSync(...args);
  }),
}));

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
}

describe('withLock, between processes', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fanout-lock-race-'))));
  afterEach(() => {
    steps = [];
    onRead = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('never removes a lock another process took the instant after its holder let go', async () => {
    const lock = join(dir, 'workspace.lock');
    // A holds the lock (a running process: this one's pid)...
    actual.writeFileSync(lock, JSON.stringify({ pid: process.pid, since: 'A' }));
    let cLetGo = false;
    // ...and lets go just as this process reads whom it waits for; C takes the lock the instant after.
    onRead = {
      path: lock,
      act: () => {
        actual.rmSync(lock);
        steps = [
          () => {
            actual.writeFileSync(lock, JSON.stringify({ pid: process.pid, since: 'C' }));
            setTimeout(() => {
              cLetGo = true;
              actual.rmSync(lock);
            }, 300);
          },
        ];
        throw enoent(lock);
      },
    };
    // The work runs only once C has let go: two holders at once would be a lost update.
    await expect(withLock(lock, async () => cLetGo, 10_000)).resolves.toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("removes a dead holder's lock, never the lock a faster process took over from it meanwhile", async () => {
    const lock = join(dir, 'workspace.lock');
    const dead = JSON.stringify({ pid: 2 ** 22 + 1, since: 'dead' });
    actual.writeFileSync(lock, dead);
    let cLetGo = false;
    // This process writes its lock's draft, reads the lock and finds its holder gone; then, before it removes
    // that lock, C (faster) has removed it and taken the lock.
    steps = [
      undefined,
      undefined,
      () => {
        actual.rmSync(lock);
        actual.writeFileSync(lock, JSON.stringify({ pid: process.pid, since: 'C' }));
        setTimeout(() => {
          cLetGo = true;
          actual.rmSync(lock);
        }, 300);
      },
    ];
    await expect(withLock(lock, async () => cLetGo, 10_000)).resolves.toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("removes a breaker left by a process that ended while breaking a lock, then takes the dead holder's lock", async () => {
    const lock = join(dir, 'workspace.lock');
    actual.writeFileSync(lock, JSON.stringify({ pid: 2 ** 22 + 1, since: 'dead' }));
    actual.writeFileSync(`${lock}.break`, JSON.stringify({ pid: 2 ** 22 + 2, since: 'ended while breaking' }));
    await expect(withLock(lock, async () => existsSync(`${lock}.break`), 10_000)).resolves.toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
