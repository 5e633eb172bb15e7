import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { lstatIfAny, present } from './files';

describe('lstatIfAny and present: what is at a path, without following a link', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-files-'));
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'file.ts'), 'export {};\n');
    symlinkSync(join(dir, 'gone'), join(dir, 'dangling'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers a file, a folder and a dangling link (which existsSync would call absent)', () => {
    expect(lstatIfAny(join(dir, 'file.ts'))?.isFile()).toBe(true);
    expect(lstatIfAny(join(dir, 'folder'))?.isDirectory()).toBe(true);
    expect(lstatIfAny(join(dir, 'dangling'))?.isSymbolicLink()).toBe(true);
    expect(present(join(dir, 'dangling'))).toBe(true);
  });

  it('answers nothing for a missing path, and for a path below a file (ENOTDIR), instead of throwing', () => {
    expect(lstatIfAny(join(dir, 'missing', 'deeper.ts'))).toBeUndefined();
    expect(lstatIfAny(join(dir, 'file.ts', 'inside.ts'))).toBeUndefined();
    expect(present(join(dir, 'missing'))).toBe(false);
    expect(present(join(dir, 'file.ts', 'inside.ts'))).toBe(false);
  });
});
