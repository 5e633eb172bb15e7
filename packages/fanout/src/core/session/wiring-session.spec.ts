import { runAndLand } from '../../testing/run-and-land';
import { readFileSync } from 'fs';
import { join } from 'path';
import { agentScript, commandTask, createWorkspace, gitIn, sessionSpec, write, type TestWorkspace } from '../../testing/git-workspace';
import { landRecord } from '../landing/land-record';
import { rmSync } from 'fs';

/**
 * Sessions that register their work in a wired file: real worktrees, command
 * agents that add their line next to the reference's, and the three-way merge
 * at integration.
 */
const PAGES = 'apps/shop/src/pages.ts';
const BASE = `import { users } from '@ws/users';\n\nexport const pages = [\n  users,\n];\n`;

describe('sessions with wired files', () => {
  let ws: TestWorkspace;
  // Real processes and git on a shared machine: a generous bound, not a speed requirement.
  jest.setTimeout(120_000);

  beforeEach(() => {
    ws = createWorkspace(['orders', 'products']);
    write(ws.root, PAGES, BASE);
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'the shop app');
  });
  afterEach(() => ws.remove());

  const wired = [{ path: PAGES, project: 'shop' }];
  /** An agent that writes its source and adds its import and entry after the reference's. */
  const registering = (name: string) =>
    agentScript(
      ws,
      name,
      `fs.writeFileSync('libs/${name}/src/index.ts', "export const ${name} = '${name}';\\n");
const pages = fs.readFileSync(${JSON.stringify(PAGES)}, 'utf-8')
  .replace("import { users } from '@ws/users';\\n", "import { users } from '@ws/users';\\nimport { ${name} } from '@ws/${name}';\\n")
  .replace('  users,\\n', '  users,\\n  ${name},\\n');
fs.writeFileSync(${JSON.stringify(PAGES)}, pages);`,
    );
  const read = (file: string) => readFileSync(join(ws.root, file), 'utf-8');

  it('merges the edits of two sessions that each add their entry, and tells each agent which files it may edit', async () => {
    // Side by side, as a fan-out runs them: both worktrees start from the same file.
    const [orders, products] = await Promise.all([
      runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${registering('orders')}`, `wire: [${PAGES}]\n`), { wired })),
      runAndLand(sessionSpec(ws.root, 'products', commandTask(`node ${registering('products')}`, `wire: [${PAGES}]\n`), { wired })),
    ]);

    expect([orders.status, products.status]).toEqual(['succeeded', 'succeeded']);
    expect(orders.wired).toEqual([{ path: PAGES, project: 'shop', status: 'merged' }]);
    expect(products.wired).toEqual([{ path: PAGES, project: 'shop', status: 'merged' }]);
    // Each entry once, after the reference's, the imports and the entries in the order the sessions landed.
    const landed = (first: string, second: string) =>
      `import { users } from '@ws/users';\nimport { ${first} } from '@ws/${first}';\nimport { ${second} } from '@ws/${second}';\n\n` +
      `export const pages = [\n  users,\n  ${first},\n  ${second},\n];\n`;
    const byLanding = [orders, products].sort((a, b) => (a.integratedAt ?? '').localeCompare(b.integratedAt ?? ''));
    const [first, second] = byLanding.map((result) => result.project);
    expect(read(PAGES)).toBe(landed(first, second));
    // A fresh checkout replaying both (the file as committed, the recorded edits applied in landing order) ends the same.
    const after = read(PAGES);
    write(ws.root, PAGES, BASE);
    rmSync(join(ws.root, '.fanout/integration'), { recursive: true, force: true });
    for (const result of byLanding) {
      await landRecord(ws.root, result.project, { sessionTarget: 'fanout-session', wired: [PAGES], log: () => undefined });
    }
    expect(read(PAGES)).toBe(after);
    // The wired file is not among the session's own files, and its edit is kept for a replay.
    expect(orders.files.map((file) => file.path)).toEqual(['libs/orders/src/index.ts']);
    expect(JSON.parse(read('.fanout/sessions/orders/wired.json'))).toEqual([
      {
        path: PAGES,
        project: 'shop',
        base: BASE,
        session: BASE.replace("';\n", "';\nimport { orders } from '@ws/orders';\n").replace('  users,\n', '  users,\n  orders,\n'),
      },
    ]);
    const prompt = read('.fanout/sessions/orders/prompt.md');
    expect(prompt).toContain(`You may also edit these files, outside your scope, to register your work: ${PAGES}.`);
    expect(prompt).toContain(`### ${PAGES}\n\n\`\`\`\n${BASE}\`\`\``);
  });

  it("fails a session whose edit conflicts with the workspace's, showing the hunk, and integrates none of its files", async () => {
    // Meanwhile the workspace's file changes the same line: another session landed, or its user edited it.
    const script = agentScript(
      ws,
      'renaming',
      `fs.writeFileSync('libs/orders/src/index.ts', "export const orders = 1;\\n");
const workspaceFile = ${JSON.stringify(join(ws.root, PAGES))};
fs.writeFileSync(workspaceFile, fs.readFileSync(workspaceFile, 'utf-8').replace('  users,\\n', '  people,\\n'));
fs.writeFileSync(${JSON.stringify(PAGES)}, fs.readFileSync(${JSON.stringify(PAGES)}, 'utf-8').replace('  users,\\n', '  customers,\\n'));`,
    );

    const result = await runAndLand(
      sessionSpec(ws.root, 'orders', commandTask(`node ${script}`, `wire: [${PAGES}]\nrepairs: 0\n`), { wired }),
    );

    expect(result.status).toBe('failed');
    expect(result.error).toContain(`the session's edit of ${PAGES} conflicts with the workspace's`);
    expect(result.error).toContain(
      `${PAGES}:4: both changed these lines\n  the workspace:\n      people,\n  merge base:\n      users,\n  orders:\n      customers,`,
    );
    expect(result.wired).toEqual([{ path: PAGES, project: 'shop', status: 'conflict' }]);
    expect(read('libs/orders/src/index.ts')).toBe('export {};\n');
    expect(read(PAGES)).toBe(BASE.replace('  users,\n', '  people,\n'));
  });

  it('rejects an edit of a file that is not wired, as before', async () => {
    const script = agentScript(ws, 'unwired', `fs.appendFileSync(${JSON.stringify(PAGES)}, '// mine\\n');`);

    const result = await runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${script}`, 'repairs: 0\n')));

    expect(result.status).toBe('failed');
    expect(result.rejected).toEqual([{ path: PAGES, status: 'modified', reason: 'outside-scope' }]);
    expect(read(PAGES)).toBe(BASE);
  });
});
