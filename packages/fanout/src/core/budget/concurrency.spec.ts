import { spawnSync } from 'child_process';
import { once } from 'events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { spawnTypeScript } from '../../testing/git-workspace';
import { acquireSlot, checkMaxConcurrent, waitingForSlot, type SlotHolder } from './concurrency';

describe('acquireSlot', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fanout-slots-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('never lets two processes hold the one slot of an agent at once', async () => {
    const script = join(dir, 'holder.ts');
    const intervals = join(dir, 'intervals.jsonl');
    writeFileSync(
      script,
      `import { appendFileSync } from 'fs';
       import { acquireSlot } from ${JSON.stringify(join(__dirname, 'concurrency'))};
       const [slots, log, name, at] = process.argv.slice(2);
       (async () => {
         // Both processes start asking at the same moment, whenever each finished loading.
         await new Promise((resolve) => setTimeout(resolve, Number(at) - Date.now()));
         for (let i = 0; i < 4; i++) {
           const slot = await acquireSlot('claude', 1, { dir: slots, project: name, pollMs: 20 });
           const start = Date.now();
           await new Promise((resolve) => setTimeout(resolve, 60));
           const end = Date.now();
           slot.release();
           appendFileSync(log, JSON.stringify({ name, start, end }) + '\\n');
         }
       })().catch((error) => { console.error(error); process.exit(1); });`,
    );
    const at = String(Date.now() + 3_000);
    const children = ['first', 'second'].map((name) => spawnTypeScript(script, [join(dir, 'slots'), intervals, name, at]));
    // Listening from the start: a child may end before the test awaits it.
    const exits = await Promise.all(children.map(async (child) => ({ code: (await once(child, 'exit'))[0], output: child.output() })));
    expect(exits).toEqual(children.map(() => ({ code: 0, output: '' })));
    const held = readFileSync(intervals, 'utf-8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { name: string; start: number; end: number })
      .sort((a, b) => a.start - b.start);
    expect(held).toHaveLength(8);
    expect(new Set(held.map((interval) => interval.name))).toEqual(new Set(['first', 'second']));
    for (let index = 1; index < held.length; index++) expect(held[index].start).toBeGreaterThanOrEqual(held[index - 1].end);
    // Every slot was given back.
    expect(readdirSync(join(dir, 'slots', 'claude')).filter((entry) => entry.endsWith('.slot'))).toEqual([]);
  }, 120_000);

  it('takes the slot of a holder that has ended without giving it back', async () => {
    const ended = spawnSync(process.execPath, ['-e', '0']).pid as number;
    mkdirSync(join(dir, 'claude'), { recursive: true });
    writeFileSync(
      join(dir, 'claude', `${ended}-0.slot`),
      JSON.stringify({ pid: ended, project: 'crashed', since: '2026-01-01T00:00:00Z' }),
    );
    const onWait = jest.fn();
    const slot = await acquireSlot('claude', 1, { dir, onWait, pollMs: 10 });
    expect(onWait).not.toHaveBeenCalled();
    // The ended holder's file is gone; this process holds the one slot.
    expect(readdirSync(join(dir, 'claude')).filter((entry) => entry.endsWith('.slot'))).toEqual([
      expect.stringMatching(new RegExp(`^${process.pid}-\\d+\\.slot$`)),
    ]);
    slot.release();
  });

  it('waits while every slot is held by a live process, says by whom once, and stops waiting when told to', async () => {
    const first = await acquireSlot('codex', 1, { dir, project: 'cart' });
    const onWait = jest.fn();
    const controller = new AbortController();
    const waiting = acquireSlot('codex', 1, { dir, project: 'orders', onWait, signal: controller.signal, pollMs: 10 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await expect(waiting).rejects.toThrow('stopped waiting for a codex slot (maxConcurrent).');
    expect(onWait).toHaveBeenCalledTimes(1);
    const [holders] = onWait.mock.calls[0] as [SlotHolder[]];
    expect(holders).toEqual([expect.objectContaining({ pid: process.pid, project: 'cart' })]);
    expect(waitingForSlot('codex', 1, holders)).toBe(
      `waiting for a codex slot: maxConcurrent allows 1 codex session(s) at once on this machine, held by cart (pid ${process.pid})`,
    );
    // Two slots: a second session goes in beside the first; once it lets go, a waiter gets its slot.
    const second = await acquireSlot('codex', 2, { dir, project: 'orders' });
    const third = acquireSlot('codex', 2, { dir, project: 'users', pollMs: 10 });
    first.release();
    first.release();
    await expect(third).resolves.toMatchObject({ waitedMs: expect.any(Number) });
    second.release();
    (await third).release();
  });
});

describe('checkMaxConcurrent', () => {
  it('takes whole numbers of 1 or more per known agent, and names every bad entry', () => {
    expect(checkMaxConcurrent({ claude: 2 }, ['claude', 'codex'])).toEqual({ maxConcurrent: { claude: 2 }, problems: [] });
    expect(checkMaxConcurrent({ claud: 1, codex: 0, claude: '2' }, ['claude', 'codex']).problems).toEqual([
      'nx.json (fanout plugin options): "maxConcurrent" names an unknown agent "claud". Known: claude, codex.',
      'nx.json (fanout plugin options): "maxConcurrent.codex" is a whole number of 1 or more, without quotes (got 0).',
      'nx.json (fanout plugin options): "maxConcurrent.claude" is a whole number of 1 or more, without quotes (got "2").',
    ]);
    expect(checkMaxConcurrent(2, ['claude']).problems[0]).toContain('maps agent names to how many of their sessions run at once');
  });
});
