import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { gitIn, write } from '../../testing/git-workspace';
import { capDiff, parseNumstat, recordSessionDiff } from './session-diff';
import type { FileChange } from './scope';

describe('parseNumstat', () => {
  it('reads added and removed lines per path, and binary files as binary', () => {
    const output = '3\t1\tlibs/a/src/index.ts\0' + '-\t-\tlibs/a/src/logo.png\0' + '0\t2\tlibs/a/src/with space.ts\0';
    expect([...parseNumstat(output)]).toEqual([
      ['libs/a/src/index.ts', { added: 3, removed: 1 }],
      ['libs/a/src/logo.png', { binary: true }],
      ['libs/a/src/with space.ts', { added: 0, removed: 2 }],
    ]);
  });
});

describe('capDiff', () => {
  it('keeps a diff within the cap as it is', () => {
    expect(capDiff('a\nb\n', 4)).toEqual({ text: 'a\nb\n', bytes: 4, keptBytes: 4 });
  });

  it('cuts a longer one at a line end, in bytes, and says how much is left out', () => {
    // "é" is two bytes: 10 bytes in all, and the cap of 6 falls inside the second line.
    const { text, bytes, keptBytes } = capDiff('+é\n+éé\n', 6);
    expect(bytes).toBe(10);
    expect(keptBytes).toBe(4);
    expect(text).toBe(
      '+é\n[fanout: the diff is cut here: 6 of its 10 bytes are left out (the cap is 0 KB per session). The whole files are in the workspace.]\n',
    );
  });
});

describe('recordSessionDiff', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-diff-'));
    write(root, 'src/[id].ts', 'export const id = 1;\n');
    write(root, 'src/i.ts', 'export const other = 1;\n');
    gitIn(root, 'init', '-q', '-b', 'main');
    gitIn(root, 'add', '-A');
    gitIn(root, 'commit', '-q', '-m', 'base');
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  const record = (changes: FileChange[], capBytes?: number) => {
    gitIn(root, 'add', '-A');
    const sessionDir = join(root, '.fanout/sessions/a');
    mkdirSync(sessionDir, { recursive: true });
    const baseline = gitIn(root, 'rev-parse', 'HEAD').trim();
    return recordSessionDiff({
      workspaceRoot: root,
      sessionDir,
      worktree: { path: root, branch: 'main', baseline },
      changes,
      integrated: true,
      redact: (text) => text,
      capBytes,
    });
  };

  it('takes paths literally: a file named [id].ts is not a pattern that matches i.ts', async () => {
    write(root, 'src/[id].ts', 'export const id = 2;\n');
    write(root, 'src/i.ts', 'export const other = 2;\n');
    const { counts } = await record([{ path: 'src/[id].ts', status: 'modified' }]);
    expect([...counts]).toEqual([['src/[id].ts', { added: 1, removed: 1 }]]);
    const diff = readFileSync(join(root, '.fanout/sessions/a/changes.diff'), 'utf-8');
    expect(diff).toContain('-export const id = 1;\n+export const id = 2;\n');
    expect(diff).not.toContain('other');
  });

  it('caps the diff it writes, recording the whole size and the size kept', async () => {
    write(root, 'src/big.ts', 'export const line = 0;\n'.repeat(500));
    const { diff } = await record([{ path: 'src/big.ts', status: 'added' }], 1024);
    const text = readFileSync(join(root, '.fanout/sessions/a/changes.diff'), 'utf-8');
    expect(diff.keptBytes).toBeLessThanOrEqual(1024);
    expect(diff.bytes).toBeGreaterThan(500 * 'export const line = 0;\n'.length);
    expect(text.slice(0, diff.keptBytes)).toMatch(/^diff --git a\/src\/big\.ts b\/src\/big\.ts\n(.*\n)+$/);
    expect(text.slice(diff.keptBytes)).toMatch(
      /^\[fanout: the diff is cut here: \d+ of its \d+ bytes are left out \(the cap is 1 KB per session\)/,
    );
  });

  it('diffs a session that wrote more files than one git command takes, in path order', async () => {
    const changes: FileChange[] = [];
    for (let index = 0; index < 1100; index++) {
      const path = `src/many/f${String(index).padStart(4, '0')}.ts`;
      write(root, path, `export const f = ${index};\n`);
      changes.push({ path, status: 'added' });
    }
    writeFileSync(join(root, 'src/many/ignored.ts'), 'not a change of the session\n');
    const { counts } = await record([...changes].reverse());
    expect(counts.size).toBe(1100);
    const headers = readFileSync(join(root, '.fanout/sessions/a/changes.diff'), 'utf-8').match(/^diff --git a\/(\S+)/gm) ?? [];
    expect(headers.map((header) => header.slice('diff --git a/'.length))).toEqual(changes.map((change) => change.path));
  });
});
