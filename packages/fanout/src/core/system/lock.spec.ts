import { spawn, spawnSync } from 'child_process';
import { once } from 'events';
import { existsSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { withLock } from './lock';

/** The pid of a process that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  if (child.pid === undefined) throw new Error('could not start a child process');
  return child.pid;
}

describe('withLock', () => {
  let dir: string;
  let lock: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-lock-'));
    lock = join(dir, 'nested', 'git.lock');
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns the result of the work, holding a lock file with this process id meanwhile', async () => {
    const result = await withLock(lock, async () => JSON.parse(readFileSync(lock, 'utf-8')).pid);
    expect(result).toBe(process.pid);
    expect(existsSync(lock)).toBe(false);
  });

  it('serializes concurrent critical sections', async () => {
    const events: string[] = [];
    await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        withLock(lock, async () => {
          events.push(`start ${index}`);
          await new Promise((resolve) => setImmediate(resolve));
          await new Promise((resolve) => setTimeout(resolve, 1));
          events.push(`end ${index}`);
        }),
      ),
    );
    expect(events).toHaveLength(40);
    for (let position = 0; position < events.length; position += 2) {
      const index = events[position].replace('start ', '');
      expect([events[position], events[position + 1]]).toEqual([`start ${index}`, `end ${index}`]);
    }
    expect(new Set(events).size).toBe(40);
    expect(existsSync(lock)).toBe(false);
  });

  it('releases the lock when the work throws', async () => {
    await expect(
      withLock(lock, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(lock)).toBe(false);
    await expect(withLock(lock, async () => 'again', 1_000)).resolves.toBe('again');
  });

  it('takes over a lock whose holder is no longer running', async () => {
    const pid = deadPid();
    writeFileSync(join(dir, 'stale.lock'), JSON.stringify({ pid, since: '2020-01-01T00:00:00.000Z' }));
    const holder = await withLock(
      join(dir, 'stale.lock'),
      async () => JSON.parse(readFileSync(join(dir, 'stale.lock'), 'utf-8')).pid,
      5_000,
    );
    expect(holder).toBe(process.pid);
    expect(existsSync(join(dir, 'stale.lock'))).toBe(false);
  });

  it.each([{ pid: 0 }, { pid: 'nobody' }, {}])('takes over a lock file naming no valid holder: %j', async (content) => {
    writeFileSync(join(dir, 'odd.lock'), JSON.stringify(content));
    await expect(withLock(join(dir, 'odd.lock'), async () => 'taken', 5_000)).resolves.toBe('taken');
  });

  it('times out with a clear message while a running process holds the lock', async () => {
    const held = join(dir, 'held.lock');
    const content = JSON.stringify({ pid: process.pid, since: '2020-01-01T00:00:00.000Z' });
    writeFileSync(held, content);
    const work = jest.fn(async () => 'ran');
    await expect(withLock(held, work, 50)).rejects.toThrow(
      `Timed out after 50 ms waiting for the lock ${held}, held by a running process.`,
    );
    expect(work).not.toHaveBeenCalled();
    // Someone else's lock is left as it was.
    expect(readFileSync(held, 'utf-8')).toBe(content);
  });

  it('waits for a holder in another process, and takes the lock once it lets go', async () => {
    const held = join(dir, 'shared.lock');
    const released = join(dir, 'released');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs');
         fs.writeFileSync(${JSON.stringify(held)}, JSON.stringify({ pid: process.pid }));
         process.stdout.write('held');
         process.stdin.once('data', () => { fs.writeFileSync(${JSON.stringify(released)}, ''); fs.rmSync(${JSON.stringify(held)}); process.exit(0); });`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    await once(holder.stdout, 'data');
    // The work would see no `released` file if it ran before the holder let go.
    const work = withLock(held, async () => existsSync(released), 30_000);
    holder.stdin.write('let go\n');
    await expect(work).resolves.toBe(true);
    expect(existsSync(held)).toBe(false);
  });

  it('takes over a lock whose pid now belongs to another process (the holder ended, its pid was reused)', async () => {
    const reused = join(dir, 'reused.lock');
    writeFileSync(reused, JSON.stringify({ pid: process.pid, start: 'when the holder started', since: '2020-01-01T00:00:00.000Z' }));
    await expect(withLock(reused, async () => 'taken', 5_000)).resolves.toBe('taken');
  });

  it('records its start as this system reads it, and never takes a lock from a running holder whose start was read another way', async () => {
    const recorded = await withLock(lock, async () => JSON.parse(readFileSync(lock, 'utf-8')).start);
    if (process.platform === 'linux') expect(recorded).toMatch(/^\d+$/);
    else expect(recorded).toMatch(/^@\d+$/);
    // A holder that read its start with ps (no /proc for it), while /proc answers here: the two cannot be compared.
    const held = join(dir, 'other-clock.lock');
    const otherClock = process.platform === 'linux' ? `@${Math.floor(Date.now() / 1000)}` : '123456';
    writeFileSync(held, JSON.stringify({ pid: process.pid, start: otherClock, since: '2020-01-01T00:00:00.000Z' }));
    await expect(withLock(held, async () => 'taken', 100)).rejects.toThrow('held by a running process');
  });

  it('takes over an unreadable lock file that has sat there a while', async () => {
    const debris = join(dir, 'debris.lock');
    writeFileSync(debris, '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(debris, past, past);
    await expect(withLock(debris, async () => 'taken', 5_000)).resolves.toBe('taken');
  });

  it('never removes a lock that is no longer its own', async () => {
    const theirs = JSON.stringify({ pid: process.pid, since: 'later' });
    await withLock(lock, async () => writeFileSync(lock, theirs));
    expect(readFileSync(lock, 'utf-8')).toBe(theirs);
  });

  it('treats an unreadable lock file as held', async () => {
    const garbled = join(dir, 'garbled.lock');
    writeFileSync(garbled, '{"pid": ');
    await expect(withLock(garbled, async () => 'ran', 50)).rejects.toThrow('Timed out after 50 ms');
    expect(existsSync(garbled)).toBe(true);
  });
});
