import {
  parseLstart,
  processCommandLine,
  processStart,
  processStartedAt,
  processState,
  sameStartClock,
  systemReaders,
  warnOnce,
  type ProcessReaders,
} from './process-info';

/** A system as fanout sees it: /proc files by path (none: no /proc, as on macOS), ps answers by "pid field". */
function system(proc: Record<string, string>, ps: Record<string, string> = {}): ProcessReaders & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    readProc: (path) => {
      if (proc[path] === undefined) throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
      return proc[path];
    },
    ps: (pid, field) => {
      asked.push(`${pid} ${field}`);
      return ps[`${pid} ${field}`];
    },
  };
}

/** /proc/<pid>/stat of a process named with spaces and parentheses, started 123456 ticks after boot. */
const STAT = '42 (node (worker) 1) S 1 42 42 0 -1 4194560 100 0 0 0 5 1 0 0 20 0 11 0 123456 1000000 500 18446744073709551615';

const noProcButPs = system({}, { '42 lstart': 'Sun Dec  6 09:05:02 2026', '42 stat': 'Z+', '42 args': 'node nx run-many --parallel=8' });

describe('process facts: /proc on Linux, ps elsewhere', () => {
  it('reads a start from /proc/<pid>/stat (ticks after boot) and the boot time, without asking ps', () => {
    const readers = system({ '/proc/42/stat': STAT, '/proc/stat': 'cpu 1 2 3\nbtime 1796500000\nprocesses 9\n' });
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);
    expect(processStart(42, { readers, warn })).toBe('123456');
    expect(processStartedAt(42, { readers, warn })).toBe(1796500000 * 1000 + 1234560);
    expect(processState(42, { readers, warn })).toBe('S');
    expect(readers.asked).toEqual([]);
    expect(warnings).toEqual([]);
  });

  it('without /proc, reads them with ps (start to the second, state, arguments split at spaces), and says so', () => {
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);
    const started = new Date(2026, 11, 6, 9, 5, 2).getTime();
    expect(processStart(42, { readers: noProcButPs, warn })).toBe(`@${started / 1000}`);
    expect(processStartedAt(42, { readers: noProcButPs, warn })).toBe(started);
    expect(processState(42, { readers: noProcButPs, warn })).toBe('Z');
    expect(processCommandLine(42, { readers: noProcButPs, warn })).toEqual(['node', 'nx', 'run-many', '--parallel=8']);
    expect(warnings).toEqual([
      '/proc could not be read (no /proc here), so process start times come from `ps -o lstart=`, to the second',
      '/proc could not be read (no /proc here), so process start times come from `ps -o lstart=`, to the second',
      '/proc could not be read (no /proc here), so process states come from `ps -o stat=`',
      '/proc/42/cmdline could not be read (no /proc here), so the command line of process 42 was read with `ps -o args=`, its arguments taken as separated by spaces',
    ]);
  });

  it('where neither answers, tells nothing (the caller says what it assumes)', () => {
    const warnings: string[] = [];
    const options = { readers: system({}), warn: (message: string) => warnings.push(message) };
    expect([processStart(42, options), processStartedAt(42, options), processState(42, options), processCommandLine(42, options)]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(warnings).toEqual([]);
  });

  it('never compares a start read from /proc with one read with ps', () => {
    expect(sameStartClock('123456', '987654')).toBe(true);
    expect(sameStartClock('@1796500000', '@1796500001')).toBe(true);
    expect(sameStartClock('123456', '@1796500000')).toBe(false);
  });

  it.each([
    ['Sun Dec  6 09:05:02 2026', new Date(2026, 11, 6, 9, 5, 2).getTime()],
    ['Mon Jan 12 23:59:59 2027', new Date(2027, 0, 12, 23, 59, 59).getTime()],
    ['  Sun Dec  6 09:05:02 2026\n', new Date(2026, 11, 6, 9, 5, 2).getTime()],
    ['dim. 6 déc. 2026 09:05:02', undefined],
    ['Sun Foo  6 09:05:02 2026', undefined],
    ['', undefined],
  ])('reads ps -o lstart= %j', (text, expected) => {
    expect(parseLstart(text)).toBe(expected);
  });

  it('on this machine, /proc and ps agree on when this process started (to the second)', () => {
    const fromProc = processStartedAt(process.pid, { warn: () => undefined });
    const noProc: ProcessReaders = {
      ...systemReaders,
      readProc: () => {
        throw new Error('no /proc');
      },
    };
    const fromPs = processStartedAt(process.pid, { readers: noProc, warn: () => undefined });
    if (process.platform !== 'linux') return expect(fromPs).toBeDefined();
    expect(fromProc).toBeDefined();
    expect(fromPs).toBeDefined();
    // ps gives the second the process started in: at most a second before /proc's 10 ms figure, never after it.
    expect((fromProc as number) - (fromPs as number)).toBeGreaterThanOrEqual(0);
    expect((fromProc as number) - (fromPs as number)).toBeLessThan(1000 + 20);
    expect(processState(process.pid, { readers: noProc, warn: () => undefined })).toMatch(/^[RS]$/);
  });

  it('warnOnce prints a warning the first time only', () => {
    const written: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((text: string | Uint8Array) => {
      written.push(String(text));
      return true;
    });
    try {
      const message = `a warning of this test (${process.pid}, ${Date.now()})`;
      warnOnce(message);
      warnOnce(message);
      expect(written.filter((text) => text.includes(message))).toEqual([`[fanout] warning: ${message}\n`]);
    } finally {
      spy.mockRestore();
    }
  });
});
