import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { ProcessReaders } from '../system/process-info';
import { runKey, runStartedAt, takeLeadTurn, type LeadOptions } from './cache-prefix-lead';

describe('the lead session of a run', () => {
  let dir: string;
  beforeEach(() => {
    dir = join(mkdtempSync(join(tmpdir(), 'fanout-lead-')), 'lead');
  });
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  /** A clock that the follower's sleeps move forward. */
  const clocked = (extra: Partial<LeadOptions> = {}): LeadOptions & { slept: number[] } => {
    let time = 0;
    const slept: number[] = [];
    return {
      dir,
      run: '4242-100',
      project: 'orders',
      waitMs: 10_000,
      pollMs: 500,
      now: () => time,
      sleep: async (ms) => {
        slept.push(ms);
        time += ms;
      },
      isAlive: () => true,
      slept,
      ...extra,
    };
  };

  it('makes the first session of a run the lead, and the next ones wait for its response', async () => {
    const lead = await takeLeadTurn(clocked({ project: 'orders' }));
    expect(lead.role).toBe('lead');
    const options = clocked({ project: 'invoices' });
    let polls = 0;
    options.sleep = async (ms) => {
      options.slept.push(ms);
      // The lead's model begins its response while the follower waits.
      if (++polls === 3 && lead.role === 'lead') lead.ready('response');
    };
    const follower = await takeLeadTurn(options);
    expect(follower).toMatchObject({ role: 'follower', lead: 'orders', outcome: 'response' });
    expect(options.slept).toEqual([500, 500, 500]);
    // A session that starts after the response does not wait at all.
    const late = clocked({ project: 'payments' });
    expect(await takeLeadTurn(late)).toMatchObject({ role: 'follower', lead: 'orders', outcome: 'response', waitedMs: 0 });
    expect(late.slept).toEqual([]);
  });

  it('keeps the first reason the lead gave: a response that began stands when its agent ends', async () => {
    const lead = await takeLeadTurn(clocked());
    if (lead.role !== 'lead') throw new Error('expected the lead');
    lead.ready('response');
    lead.ready('ended');
    expect(readFileSync(join(dir, '4242-100', 'ready'), 'utf-8')).toBe('response');
  });

  it('stops waiting when the lead ended without a response, or its process is gone', async () => {
    const lead = await takeLeadTurn(clocked());
    if (lead.role !== 'lead') throw new Error('expected the lead');
    lead.ready('ended');
    expect(await takeLeadTurn(clocked({ project: 'invoices' }))).toMatchObject({ role: 'follower', outcome: 'ended' });

    const crashed = '4343-100';
    await takeLeadTurn(clocked({ run: crashed }));
    const follower = clocked({ run: crashed, project: 'invoices', isAlive: (pid) => pid !== process.pid });
    expect(await takeLeadTurn(follower)).toMatchObject({ role: 'follower', lead: 'orders', outcome: 'ended', waitedMs: 0 });
  });

  it('waits at most waitMs', async () => {
    await takeLeadTurn(clocked());
    const follower = clocked({ project: 'invoices', waitMs: 1_200 });
    expect(await takeLeadTurn(follower)).toMatchObject({ role: 'follower', outcome: 'timeout', waitedMs: 1_200 });
    expect(follower.slept).toEqual([500, 500, 200]);
  });

  it("removes the folders of runs whose Nx process has ended, and keeps the live ones'", async () => {
    mkdirSync(join(dir, '999999-1'), { recursive: true });
    mkdirSync(join(dir, '888888-1'), { recursive: true });
    await takeLeadTurn(clocked({ isAlive: (pid) => pid === 888888 }));
    expect(existsSync(join(dir, '999999-1'))).toBe(false);
    expect(existsSync(join(dir, '888888-1'))).toBe(true);
  });

  it('falls back to starting at once, with the reason, where the sessions cannot meet', async () => {
    // A file where the folder should be: the same failure as a read-only .fanout.
    mkdirSync(join(dir, '..'), { recursive: true });
    writeFileSync(dir, 'not a folder');
    const turn = await takeLeadTurn(clocked());
    expect(turn.role).toBe('alone');
    expect(turn.role === 'alone' && turn.note).toContain('cannot be written');
    if (process.getuid?.() !== 0) {
      rmSync(dir);
      mkdirSync(join(dir, '4242-100'), { recursive: true });
      chmodSync(join(dir, '4242-100'), 0o500);
      expect((await takeLeadTurn(clocked())).role).toBe('alone');
    }
  });

  it("names a run by its Nx process and that process's start, the same for every task of the run", () => {
    const key = runKey();
    expect(key).toBe(runKey(process.ppid));
    expect(key.startsWith(`${process.ppid}`)).toBe(true);
    if (process.platform === 'linux') expect(key).toMatch(/^\d+-\d+$/);
    expect(runKey(process.pid)).not.toBe(key);
  });

  it('tells when the Nx process of the run started, before this one and not long ago', () => {
    const started = runStartedAt();
    if (process.platform !== 'linux') return expect(started).toBeUndefined();
    const mine = runStartedAt(process.pid) as number;
    expect(started).toBeLessThanOrEqual(mine + 20);
    expect(mine).toBeLessThanOrEqual(Date.now());
    expect(Date.now() - mine).toBeLessThan(10 * 60_000);
    expect(runStartedAt(2 ** 22 + 17, { warn: () => undefined })).toBeUndefined();
  });

  describe('without /proc (macOS)', () => {
    /** No /proc; ps answers for process 77, started at 09:05:02 local time on 6 December 2026. */
    const noProc: ProcessReaders = {
      readProc: (path) => {
        throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
      },
      ps: (pid, field) => (pid === 77 && field === 'lstart' ? 'Sun Dec  6 09:05:02 2026' : undefined),
    };
    const started = new Date(2026, 11, 6, 9, 5, 2).getTime();

    it('names the run and tells its start from ps -o lstart=, and says it did', () => {
      const warnings: string[] = [];
      const warn = (message: string) => warnings.push(message);
      expect(runKey(77, { readers: noProc, warn })).toBe(`77-@${started / 1000}`);
      expect(runStartedAt(77, { readers: noProc, warn })).toBe(started);
      expect(warnings).toEqual([
        '/proc could not be read (no /proc here), so process start times come from `ps -o lstart=`, to the second',
        '/proc could not be read (no /proc here), so process start times come from `ps -o lstart=`, to the second',
      ]);
    });

    it('where ps does not answer either, names the run by the pid alone, has no start, and says what that means', () => {
      const warnings: string[] = [];
      const warn = (message: string) => warnings.push(message);
      expect(runKey(78, { readers: noProc, warn })).toBe('78');
      expect(runStartedAt(78, { readers: noProc, warn })).toBeUndefined();
      expect(warnings).toEqual([
        expect.stringMatching(
          /^could not read when the Nx process \(pid 78\) started .*the sessions of this run meet under its pid alone$/,
        ),
        expect.stringMatching(/^could not read when the Nx process \(pid 78\) started .*every landing writes the report$/),
      ]);
    });
  });
});
