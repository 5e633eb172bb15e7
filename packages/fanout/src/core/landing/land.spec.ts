import { createHash, randomUUID } from 'crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { createWorkspace, gitIn, write, type TestWorkspace } from '../../testing/git-workspace';
import { IntegrationRefused } from '../session/integrate';
import { worktreePath } from '../../constants';
import { writeWiredEdits, type WiredEdit } from '../session/wiring';
import { landSession, type LandingInput } from './land';
import { markRanNow, readLanded } from './landed';
import { recordedFilesDir, type RecordedFile } from './record';

const hash = (text: string) => createHash('sha256').update(text).digest('hex');
const ORDERS = 'libs/orders/src';

/** A session record made by hand: `files` path → the session's content (null: deleted), with their base content. */
function record(
  root: string,
  files: Record<string, string | null>,
  base: Record<string, string> = {},
  wired: WiredEdit[] = [],
): { dir: string; record: LandingInput['record'] } {
  const dir = join(root, '.fanout/sessions/orders');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const recorded: RecordedFile[] = Object.entries(files).map(([path, content]) => {
    if (content !== null) write(recordedFilesDir(dir), path, content);
    return {
      path,
      status: content === null ? 'deleted' : base[path] === undefined ? 'added' : 'modified',
      ...(content !== null ? { sha256: hash(content) } : {}),
      ...(base[path] !== undefined ? { baseSha256: hash(base[path]) } : {}),
    };
  });
  if (wired.length > 0) writeWiredEdits(dir, wired);
  return { dir, record: { id: randomUUID(), files: recorded } };
}

describe('landSession', () => {
  let ws: TestWorkspace;
  let lines: string[];
  const land = (made: ReturnType<typeof record>, extra: Partial<LandingInput> = {}) =>
    landSession({
      workspaceRoot: ws.root,
      project: 'orders',
      sessionDir: made.dir,
      record: made.record,
      wired: [],
      log: (line) => lines.push(line),
      ...extra,
    });
  const read = (path: string) => readFileSync(join(ws.root, path), 'utf-8');

  beforeEach(() => {
    ws = createWorkspace(['orders']);
    lines = [];
  });
  afterEach(() => ws.remove());

  it('writes what the session wrote, byte for byte, and deletes what it deleted; a second landing of the record changes nothing', async () => {
    write(ws.root, `${ORDERS}/old.ts`, 'export const old = 1;\n');
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'old');
    const made = record(
      ws.root,
      {
        [`${ORDERS}/index.ts`]: "export * from './orders';\n",
        [`${ORDERS}/orders.ts`]: 'export const orders = [];\n',
        [`${ORDERS}/old.ts`]: null,
      },
      { [`${ORDERS}/index.ts`]: 'export {};\n', [`${ORDERS}/old.ts`]: 'export const old = 1;\n' },
    );
    const first = await land(made);
    expect(first.files.map((file) => [file.path, file.action])).toEqual([
      [`${ORDERS}/index.ts`, 'written'],
      [`${ORDERS}/orders.ts`, 'written'],
      [`${ORDERS}/old.ts`, 'deleted'],
    ]);
    expect(read(`${ORDERS}/orders.ts`)).toBe('export const orders = [];\n');
    expect(existsSync(join(ws.root, `${ORDERS}/old.ts`))).toBe(false);
    expect(readLanded(ws.root, 'orders').files[`${ORDERS}/orders.ts`]).toMatchObject({
      sha256: hash('export const orders = [];\n'),
      record: made.record.id,
    });

    const again = await land(made);
    expect(again.files.every((file) => file.action === 'in-place')).toBe(true);
    expect(lines).toEqual([]);
  });

  it("a replay after landing keeps the user's uncommitted edit, untracked file, committed edit and deletion, and says so", async () => {
    const made = record(ws.root, {
      [`${ORDERS}/a.ts`]: 'export const a = 1;\n',
      [`${ORDERS}/b.ts`]: 'export const b = 1;\n',
      [`${ORDERS}/c.ts`]: 'export const c = 1;\n',
    });
    await land(made);
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'landed');
    write(ws.root, `${ORDERS}/b.ts`, 'export const b = 2; // committed by hand\n');
    gitIn(ws.root, 'commit', '-q', '-am', 'hand edit');
    write(ws.root, `${ORDERS}/a.ts`, 'export const a = 2; // uncommitted\n');
    write(ws.root, `${ORDERS}/notes.ts`, '// mine\n');
    rmSync(join(ws.root, `${ORDERS}/c.ts`));

    const replay = await land(made);

    expect(read(`${ORDERS}/a.ts`)).toBe('export const a = 2; // uncommitted\n');
    expect(read(`${ORDERS}/b.ts`)).toBe('export const b = 2; // committed by hand\n');
    expect(read(`${ORDERS}/notes.ts`)).toBe('// mine\n');
    expect(existsSync(join(ws.root, `${ORDERS}/c.ts`))).toBe(false);
    expect(replay.files.map((file) => [file.path, file.action, file.reason])).toEqual([
      [`${ORDERS}/a.ts`, 'kept', 'changed-since'],
      [`${ORDERS}/b.ts`, 'kept', 'changed-since'],
      [`${ORDERS}/c.ts`, 'kept', 'deleted-since'],
    ]);
    expect(lines).toEqual([
      `kept your edit of ${ORDERS}/a.ts; the session's version is in .fanout/sessions/orders/files/${ORDERS}/a.ts (nx g fanout:take orders --files=${ORDERS}/a.ts takes it)`,
      `kept your edit of ${ORDERS}/b.ts; the session's version is in .fanout/sessions/orders/files/${ORDERS}/b.ts (nx g fanout:take orders --files=${ORDERS}/b.ts takes it)`,
      `kept your deletion of ${ORDERS}/c.ts; the session's version is in .fanout/sessions/orders/files/${ORDERS}/c.ts (nx g fanout:take orders --files=${ORDERS}/c.ts takes it)`,
    ]);
    // The session's version stays to compare or take.
    expect(readFileSync(join(made.dir, 'files', ORDERS, 'a.ts'), 'utf-8')).toBe('export const a = 1;\n');
  });

  it('never overwrites a file fanout did not write', async () => {
    write(ws.root, `${ORDERS}/a.ts`, '// the user wrote this first\n');
    const made = record(ws.root, { [`${ORDERS}/a.ts`]: 'export const a = 1;\n' });
    const kept = await land(made);
    expect(kept.files[0]).toEqual({ path: `${ORDERS}/a.ts`, action: 'kept', reason: 'not-ours' });
    expect(read(`${ORDERS}/a.ts`)).toBe('// the user wrote this first\n');
  });

  it('lands in a fresh clone, which has no landing record, and again after a checkout of a commit older than the landing', async () => {
    const made = record(ws.root, { [`${ORDERS}/a.ts`]: 'export const a = 1;\n' });
    const older = gitIn(ws.root, 'rev-parse', 'HEAD').trim();
    await land(made);
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'landed');
    // A rerun after the commit: the landing is seen on the new HEAD.
    expect((await land(made)).files[0]).toMatchObject({ action: 'in-place' });
    rmSync(join(ws.root, `${ORDERS}/a.ts`));
    gitIn(ws.root, 'commit', '-q', '-am', 'the user deleted it');
    expect((await land(made)).files[0]).toMatchObject({ action: 'kept', reason: 'deleted-since' });

    gitIn(ws.root, 'checkout', '-q', older);
    const onOlder = await land(made);
    expect(onOlder.files[0]).toEqual({ path: `${ORDERS}/a.ts`, action: 'written' });
    expect(read(`${ORDERS}/a.ts`)).toBe('export const a = 1;\n');

    rmSync(join(ws.root, '.fanout/integration'), { recursive: true, force: true });
    rmSync(join(ws.root, `${ORDERS}/a.ts`));
    expect((await land(made)).files[0]).toEqual({ path: `${ORDERS}/a.ts`, action: 'written' });
  });

  it('tells a session that ran now from a replay', async () => {
    const made = record(ws.root, { [`${ORDERS}/a.ts`]: 'export const a = 1;\n' });
    markRanNow(ws.root, 'orders', made.record.id);
    expect((await land(made)).ranNow).toBe(true);
    expect((await land(made)).ranNow).toBe(false);
  });

  it('removes a worktree kept from an earlier failed session once the task has landed', async () => {
    const kept = worktreePath(ws.root, 'orders');
    gitIn(ws.root, 'worktree', 'add', '-q', '-b', 'fanout/orders', kept);
    await land(record(ws.root, { [`${ORDERS}/a.ts`]: 'export const a = 1;\n' }));
    expect(existsSync(kept)).toBe(false);
    expect(gitIn(ws.root, 'branch', '--list', 'fanout/orders').trim()).toBe('');
  });

  describe('wired files', () => {
    const ROUTES = 'apps/shop/src/routes.ts';
    const base = 'export const routes = [\n  { path: "users" },\n];\n';
    const edit = (session: string): WiredEdit => ({ path: ROUTES, project: 'shop', base, session });

    beforeEach(() => {
      write(ws.root, ROUTES, base);
      gitIn(ws.root, 'add', '-A');
      gitIn(ws.root, 'commit', '-q', '-m', 'routes');
    });

    it('merges a recorded edit once; a hand fix committed after it survives every later landing of the same record', async () => {
      const made = record(ws.root, {}, {}, [edit('export const routes = [\n  { path: "users" },\n  { path: "orders" },\n];\n')]);
      expect((await land(made, { wired: [ROUTES] })).wired).toEqual([{ path: ROUTES, project: 'shop', status: 'merged' }]);
      expect(read(ROUTES)).toContain('{ path: "orders" }');

      const fixed = 'export const routes = [\n  { path: "users" },\n  { path: "orders", title: "Orders" },\n];\n';
      writeFileSync(join(ws.root, ROUTES), fixed);
      gitIn(ws.root, 'commit', '-q', '-am', 'hand fix');
      for (let run = 0; run < 2; run++) {
        expect((await land(made, { wired: [ROUTES] })).wired).toEqual([{ path: ROUTES, project: 'shop', status: 'kept' }]);
        expect(read(ROUTES)).toBe(fixed);
      }
    });

    it('drops a recorded edit of a file the task no longer declares in wire:', async () => {
      const made = record(ws.root, {}, {}, [edit('export const routes = [\n  { path: "users" },\n  { path: "orders" },\n];\n')]);
      expect((await land(made, { wired: [] })).wired).toEqual([{ path: ROUTES, project: 'shop', status: 'dropped' }]);
      expect(read(ROUTES)).toBe(base);
      expect(lines).toEqual([`dropped the recorded edit of ${ROUTES}: the task's wire: no longer names it`]);
    });

    it('refuses a merge that leaves the file unparsable, naming the file and the error, and lands nothing of the session', async () => {
      const made = record(ws.root, { [`${ORDERS}/a.ts`]: 'export const a = 1;\n' }, {}, [
        edit('export const routes = [\n  { path: "users" },\n  { path: "orders" \n];\n'),
      ]);
      const landing = land(made, { wired: [ROUTES] });
      await expect(landing).rejects.toThrow(IntegrationRefused);
      await expect(land(made, { wired: [ROUTES] })).rejects.toThrow(/apps\/shop\/src\/routes\.ts:4:1 TS1005: ',' expected/);
      expect(read(ROUTES)).toBe(base);
      expect(existsSync(join(ws.root, `${ORDERS}/a.ts`))).toBe(false);
    });
  });
});
