import { runAndLand } from '../../testing/run-and-land';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { taskPlaceholder } from './assignment';
import { gitIn, sessionSpec, write } from '../../testing/git-workspace';
import { type SessionSpec } from './session-spec';

/**
 * Sessions against a real git repository: real worktrees, real processes.
 * The agents are small node scripts (the `command` agent) and the built-in
 * `pattern` agent.
 */
const CONTRACTS_INDEX = `export interface User { id: string; name: string }
export interface Order { id: string; name: string }
export const USERS_COLLECTION = 'users' as const;
export const ORDERS_COLLECTION = 'orders' as const;
`;
const USERS_HANDLER = `import { USERS_COLLECTION, type User } from '@ws/contracts';

export function createUsersHandlers() {
  return { collection: USERS_COLLECTION, list: (): User[] => [] };
}
`;

function createWorkspace(): string {
  const root = mkdtempSync(join(tmpdir(), 'fanout-session-'));
  write(root, '.gitignore', 'node_modules\n.fanout/\n');
  write(root, 'AGENTS.md', '# Conventions\nUse the contracts.\n');
  write(root, 'libs/contracts/src/index.ts', CONTRACTS_INDEX);
  write(root, 'libs/users/src/index.ts', "export * from './lib/users.handler';\n");
  write(root, 'libs/users/src/lib/users.handler.ts', USERS_HANDLER);
  write(root, 'libs/orders/project.json', '{ "name": "orders" }\n');
  write(root, 'libs/orders/src/index.ts', 'export {};\n');
  mkdirSync(join(root, 'node_modules'));
  gitIn(root, 'init', '-q', '-b', 'main');
  gitIn(root, 'add', '-A');
  gitIn(root, 'commit', '-q', '-m', 'base');
  return root;
}

/** A command agent: a node script, run with the worktree as cwd. */
function agentScript(root: string, name: string, body: string): string {
  const path = join(root, '..', `${name}-${Date.now()}-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(path, `const fs = require('fs'); const path = require('path');\n${body}\n`);
  return path;
}

const commandTask = (script: string, extra = '') =>
  `---\nlike: users\ncontracts: contracts\nagent: command\ncommand: node ${script} {promptFile}\n${extra}---\n\nBuild the orders API.\n`;

describe('runSession', () => {
  let root: string;

  beforeEach(() => {
    root = createWorkspace();
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('runs a command agent in its own worktree and integrates what it wrote', async () => {
    const script = agentScript(
      root,
      'writer',
      `fs.mkdirSync('libs/orders/src/lib', { recursive: true });
       fs.writeFileSync('libs/orders/src/lib/orders.ts', 'export const orders = 1;\\n');
       fs.writeFileSync('libs/orders/src/seen-env.json', JSON.stringify({
         cwd: process.cwd(), prompt: process.argv[2],
         vars: ['FANOUT_PROMPT_FILE','FANOUT_PROJECT','FANOUT_PROJECT_ROOT','FANOUT_WORKTREE','FANOUT_PORT_BASE'].map((k) => process.env[k]),
       }));`,
    );
    const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script)));

    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    expect(readFileSync(join(root, 'libs/orders/src/lib/orders.ts'), 'utf-8')).toBe('export const orders = 1;\n');
    const seen = JSON.parse(readFileSync(join(root, 'libs/orders/src/seen-env.json'), 'utf-8'));
    const worktree = join(root, '.fanout/worktrees/orders');
    expect(seen.cwd).toBe(worktree);
    expect(seen.prompt).toBe(join(root, '.fanout/sessions/orders/prompt.md'));
    expect(seen.vars).toEqual([seen.prompt, 'orders', 'libs/orders', worktree, '20000']);
    expect(result.files.map((file) => [file.path, file.status]).sort()).toEqual([
      ['libs/orders/src/lib/orders.ts', 'added'],
      ['libs/orders/src/seen-env.json', 'added'],
    ]);
    // The worktree and its branch are gone after a success.
    expect(existsSync(worktree)).toBe(false);
    expect(gitIn(root, 'branch', '--list', 'fanout/*').trim()).toBe('');
    // Git forgot the worktree too: no administrative folder left for `git worktree prune`.
    expect(gitIn(root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(existsSync(join(root, '.git/worktrees/orders'))).toBe(false);
    const recorded = JSON.parse(readFileSync(join(root, '.fanout/sessions/orders/result.json'), 'utf-8'));
    expect(recorded).toMatchObject({ status: 'succeeded', agent: 'command', project: 'orders' });
    expect(recorded.baseCommit).toBe(gitIn(root, 'rev-parse', 'HEAD').trim());
    // Where the time went, phase by phase (what npm run bench reads as fanout's overhead).
    const phases = ['contextMs', 'worktreeMs', 'waitMs', 'agentMs', 'checksMs', 'integrateMs'];
    expect(Object.keys(recorded.timings).sort()).toEqual([...phases].sort());
    for (const phase of phases) expect(Number.isInteger(recorded.timings[phase]) && recorded.timings[phase] >= 0).toBe(true);
    const phaseTotal = phases.reduce((sum, phase) => sum + recorded.timings[phase], 0);
    expect(phaseTotal).toBeLessThanOrEqual(recorded.durationMs + phases.length);
  });

  it('gives the agent one prompt file: conventions, contracts, reference, then the assignment', async () => {
    const script = agentScript(root, 'noop', '');
    const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script)));
    const prompt = readFileSync(result.promptFile, 'utf-8');
    const order = ['Use the contracts.', 'export const USERS_COLLECTION', 'createUsersHandlers', 'Build the orders API.'].map((text) =>
      prompt.indexOf(text),
    );
    expect(order.every((position) => position >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(prompt).toContain('Write only inside: libs/orders/src.');
  });

  it('shares one byte-identical base context across the sessions of a run', async () => {
    const script = agentScript(root, 'noop', '');
    write(root, 'libs/products/src/index.ts', 'export {};\n');
    const [orders, products] = await Promise.all([
      runAndLand(sessionSpec(root, 'orders', commandTask(script))),
      runAndLand(sessionSpec(root, 'products', commandTask(script).replace('orders', 'products'))),
    ]);
    expect(orders.baseContextHash).toBe(products.baseContextHash);
    const strip = (file: string) => readFileSync(file, 'utf-8').split('# Your assignment')[0];
    expect(strip(orders.promptFile)).toBe(strip(products.promptFile));
  });

  it('starts from the workspace as it is, uncommitted files included', async () => {
    write(root, 'libs/contracts/src/draft.ts', 'export const draft = true;\n');
    const script = agentScript(
      root,
      'reader',
      `fs.writeFileSync('libs/orders/src/copy.ts', fs.readFileSync('libs/contracts/src/draft.ts'));`,
    );
    const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script)));
    expect(result.status).toBe('succeeded');
    expect(readFileSync(join(root, 'libs/orders/src/copy.ts'), 'utf-8')).toBe('export const draft = true;\n');
    // The session did not claim the user's untracked file as its own change.
    expect(result.files.map((file) => file.path)).toEqual(['libs/orders/src/copy.ts']);
  });

  it('rejects changes outside the scope and leaves the workspace untouched', async () => {
    const script = agentScript(
      root,
      'escape',
      `fs.writeFileSync('libs/orders/src/ok.ts', 'ok'); fs.writeFileSync('README.md', 'taken over'); fs.writeFileSync('libs/orders/project.json', '{}');`,
    );
    const session = sessionSpec(root, 'orders', commandTask(script));
    const before = gitIn(root, 'status', '--porcelain');
    const result = await runAndLand(session);
    expect(result.status).toBe('failed');
    expect(result.rejected.map((change) => change.path).sort()).toEqual(['README.md', 'libs/orders/project.json']);
    expect(result.error).toContain('README.md (added, outside-scope)');
    expect(existsSync(join(root, 'README.md'))).toBe(false);
    expect(existsSync(join(root, 'libs/orders/src/ok.ts'))).toBe(false);
    expect(readFileSync(join(root, 'libs/orders/project.json'), 'utf-8')).toBe('{ "name": "orders" }\n');
    expect(gitIn(root, 'status', '--porcelain')).toBe(before);
  });

  it('widens the scope when fanout.md says so', async () => {
    const script = agentScript(root, 'config', `fs.writeFileSync('libs/orders/project.json', '{"name":"orders","tags":[]}');`);
    const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script, 'scope: ["."]\n')));
    expect(result.status).toBe('succeeded');
    expect(readFileSync(join(root, 'libs/orders/project.json'), 'utf-8')).toBe('{"name":"orders","tags":[]}');
  });

  it('keeps the contracts and the reference read-only', async () => {
    const script = agentScript(
      root,
      'tamper',
      `fs.appendFileSync('libs/contracts/src/index.ts', 'export type Hack = 1;\\n'); fs.writeFileSync('libs/orders/src/a.ts', '');`,
    );
    const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script, 'scope: ["."]\n')));
    expect(result.status).toBe('failed');
    expect(result.rejected).toEqual([{ path: 'libs/contracts/src/index.ts', status: 'modified', reason: 'read-only' }]);
    expect(readFileSync(join(root, 'libs/contracts/src/index.ts'), 'utf-8')).toBe(CONTRACTS_INDEX);
  });

  it("refuses to overwrite the user's uncommitted changes, but not its own earlier output", async () => {
    const writer = agentScript(root, 'writer', `fs.writeFileSync('libs/orders/src/index.ts', 'export const v = ' + Date.now() + ';\\n');`);
    // Fanout's own earlier output may be replaced by a rerun.
    expect((await runAndLand(sessionSpec(root, 'orders', commandTask(writer)))).status).toBe('succeeded');
    expect((await runAndLand(sessionSpec(root, 'orders', commandTask(writer)))).status).toBe('succeeded');
    // A person's edit may not.
    writeFileSync(join(root, 'libs/orders/src/index.ts'), '// my work\n');
    const result = await runAndLand(sessionSpec(root, 'orders', commandTask(writer)));
    expect(result.status).toBe('failed');
    expect(result.error).toContain('libs/orders/src/index.ts');
    expect(result.error).toContain('Commit or stash them');
    expect(readFileSync(join(root, 'libs/orders/src/index.ts'), 'utf-8')).toBe('// my work\n');
  });

  it("replaces the task generator's uncommitted placeholder", async () => {
    writeFileSync(join(root, 'libs/orders/src/index.ts'), taskPlaceholder('orders'));
    const script = agentScript(root, 'writer', `fs.writeFileSync('libs/orders/src/index.ts', 'export const real = 1;\\n');`);
    const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script)));
    expect(result.error).toBeUndefined();
    expect(readFileSync(join(root, 'libs/orders/src/index.ts'), 'utf-8')).toBe('export const real = 1;\n');
  });

  it('explains that sessions need a git commit', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'fanout-nogit-'));
    try {
      write(bare, 'libs/contracts/src/index.ts', CONTRACTS_INDEX);
      write(bare, 'libs/users/src/index.ts', 'export {};\n');
      gitIn(bare, 'init', '-q');
      await expect(runAndLand(sessionSpec(bare, 'orders', commandTask('x.js')))).rejects.toThrow('is not a git repository with a commit');
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('fails with the known agents listed when the agent is unknown', async () => {
    const result = await runAndLand(
      sessionSpec(root, 'orders', '---\nlike: users\ncontracts: contracts\nagent: robot\n---\n\nBuild it.\n'),
    );
    expect(result.status).toBe('failed');
    expect(result.error).toContain('libs/orders/fanout.md: unknown agent "robot". Known agents: pattern, command, claude');
    expect(existsSync(join(root, '.fanout/worktrees/orders'))).toBe(false);
  });

  it('replicates the reference with the pattern agent', async () => {
    const result = await runAndLand(sessionSpec(root, 'orders', '---\nlike: users\ncontracts: contracts\n---\n\nBuild the orders API.\n'));
    expect(result.error).toBeUndefined();
    expect(result.summary).toBe('replicated 2 file(s) of users for orders (users → orders)');
    // What the pattern agent writes follows the reference by construction: no finding at all.
    expect(result.findings).toEqual([]);
    expect(readFileSync(join(root, 'libs/orders/src/lib/orders.handler.ts'), 'utf-8')).toBe(
      USERS_HANDLER.replace(/USERS/g, 'ORDERS').replace(/Users/g, 'Orders').replace(/User/g, 'Order'),
    );
    expect(readFileSync(join(root, 'libs/orders/src/index.ts'), 'utf-8')).toBe("export * from './lib/orders.handler';\n");
  });

  it('fails a session whose agent exited 0 having changed nothing, quoting what it reported, and records nothing', async () => {
    const script = agentScript(
      root,
      'idle',
      `console.error('Error: writing libs/orders/src/lib/orders.ts was denied: read-only file system');`,
    );
    const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script, 'repairs: 0\n')));
    expect(result.status).toBe('failed');
    expect(result.error).toBe(
      'the agent made no change in libs/orders/src; nothing was recorded. What it reported:\n' +
        '  Error: writing libs/orders/src/lib/orders.ts was denied: read-only file system.',
    );
    expect(result.files).toEqual([]);
    expect(result.rounds?.[0].failed).toBe('scope');
  });

  it('lets a session leave unchanged a scope that already holds what an earlier session of the task landed', async () => {
    const spec = sessionSpec(root, 'orders', '---\nlike: users\ncontracts: contracts\n---\n\nBuild the orders API.\n');
    expect((await runAndLand(spec)).status).toBe('succeeded');
    gitIn(root, 'add', '-A');
    gitIn(root, 'commit', '-q', '-m', 'landed');
    // The pattern agent writes the same files again: no change, and rightly so.
    const again = await runAndLand(spec);
    expect(again.error).toBeUndefined();
    expect(again.status).toBe('succeeded');
    expect(again.files).toEqual([]);
  });

  it('has the pattern agent refuse an entity the contracts do not define', async () => {
    // A freshly generated task: its placeholder is fanout's own, so it does not block the session.
    write(root, 'libs/invoices/src/index.ts', taskPlaceholder('invoices'));
    const result = await runAndLand(sessionSpec(root, 'invoices', '---\nlike: users\ncontracts: contracts\n---\n\nBuild it.\n'));
    expect(result.status).toBe('failed');
    expect(result.error).toContain('INVOICES_COLLECTION, Invoice');
    expect(result.error).toContain('nx g fanout:contracts contracts --entities=invoice');
  });

  describe('per-session checks', () => {
    const writeFiles = (files: Record<string, string>) =>
      agentScript(
        root,
        'files',
        `for (const [file, text] of Object.entries(${JSON.stringify(files)})) {
           fs.mkdirSync(path.dirname(file), { recursive: true });
           fs.writeFileSync(file, text);
         }`,
      );
    const handler = (name: string) =>
      `import { ORDERS_COLLECTION, type Order } from '@ws/contracts';\n\nexport function ${name}() {\n  return { collection: ORDERS_COLLECTION, list: (): Order[] => [] };\n}\n`;
    const faithful = {
      'libs/orders/src/index.ts': "export * from './lib/orders.handler';\n",
      'libs/orders/src/lib/orders.handler.ts': handler('createOrdersHandlers'),
    };

    it('passes a session that follows the contracts and the reference', async () => {
      const result = await runAndLand(sessionSpec(root, 'orders', commandTask(writeFiles(faithful))));
      expect(result.error).toBeUndefined();
      expect(result.findings).toEqual([]);
    });

    it('fails a session that redeclares a contract type, naming file:line and the fix', async () => {
      const script = writeFiles({
        ...faithful,
        'libs/orders/src/lib/types.ts': '// local copy\nexport interface User {\n  id: string;\n  name: string;\n}\n',
      });
      const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script)));
      expect(result.status).toBe('failed');
      expect(result.findings).toContainEqual({
        check: 'contract-conformance',
        severity: 'error',
        file: 'libs/orders/src/lib/types.ts',
        line: 2,
        message: 'declares User, which the contracts already export.',
        fix: "delete it and import { User } from '@ws/contracts'.",
      });
      expect(result.error).toContain('libs/orders/src/lib/types.ts:2: error: declares User');
      expect(existsSync(join(root, 'libs/orders/src/lib/types.ts'))).toBe(false);
    });

    it('catches a copy under another name by its structure, and a deep import of the contracts', async () => {
      const script = writeFiles({
        ...faithful,
        'libs/orders/src/lib/types.ts':
          "import type { Order } from '../../../contracts/src/index';\nexport type Row = { name: string; id: string };\nexport type O = Order;\n",
      });
      const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script)));
      expect(result.status).toBe('failed');
      const messages = result.findings.map((finding) => `${finding.line} ${finding.message}`);
      expect(messages).toContainEqual(
        expect.stringMatching(/^2 declares Row with the same structure as the contract type (User|Order)\.$/),
      );
      expect(messages).toContainEqual("1 imports the contracts through '../../../contracts/src/index'.");
    });

    it('warns about a name that departs from the reference, and fails it with strictNaming', async () => {
      const drifted = {
        'libs/orders/src/index.ts': "export * from './lib/order.handlers';\n",
        'libs/orders/src/lib/order.handlers.ts': handler('createOrderHandlers'),
      };
      const warned = await runAndLand(sessionSpec(root, 'orders', commandTask(writeFiles(drifted))));
      expect(warned.status).toBe('succeeded');
      expect(warned.findings.map((finding) => [finding.severity, finding.file, finding.message])).toEqual([
        ['warning', 'libs/orders/src/lib/orders.handler.ts', 'is missing: the reference has libs/users/src/lib/users.handler.ts.'],
        [
          'warning',
          'libs/orders/src/lib/order.handlers.ts',
          "exports createOrderHandlers where the reference's createUsersHandlers calls for createOrdersHandlers.",
        ],
      ]);
      expect(warned.findings[1]).toMatchObject({ line: 3, fix: 'rename createOrderHandlers to createOrdersHandlers.' });

      rmSync(join(root, 'libs/orders/src/lib'), { recursive: true, force: true });
      writeFileSync(join(root, 'libs/orders/src/index.ts'), 'export {};\n');
      const strict = await runAndLand(sessionSpec(root, 'orders', commandTask(writeFiles(drifted)), { checks: { strictNaming: true } }));
      expect(strict.status).toBe('failed');
      expect(strict.error).toContain('libs/orders/src/lib/order.handlers.ts:3: error: exports createOrderHandlers');
    });

    /** What the executor tells a session of its run: `products` is a sibling, `reports` depends on it. */
    const run: SessionSpec['run'] = {
      projects: [
        { name: 'contracts', root: 'libs/contracts', importPaths: ['@ws/contracts'] },
        { name: 'orders', root: 'libs/orders', importPaths: ['@ws/orders'] },
        { name: 'products', root: 'libs/products', importPaths: ['@ws/products'] },
        { name: 'reports', root: 'libs/reports', importPaths: ['@ws/reports'] },
      ],
      forbidden: new Map([
        ['products', 'is another task of this run (products:fanout)'],
        ['reports', 'depends on products, another task of this run (reports → products)'],
      ]),
      ports: { own: { first: 20_000, last: 20_099 }, siblings: [{ project: 'products', first: 20_100, last: 20_199 }] },
    };

    it('fails a session that imports a sibling task, or a project that depends on one, naming the path', async () => {
      const script = writeFiles({
        ...faithful,
        'libs/orders/src/lib/lookup.ts':
          "import { ORDERS_COLLECTION } from '@ws/contracts';\nimport { createProductsHandlers } from '@ws/products';\nexport { summary } from '../../../reports/src/index';\nexport const lookup = () => [ORDERS_COLLECTION, createProductsHandlers];\n",
      });
      const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script), { run }));
      expect(result.status).toBe('failed');
      const hidden = result.findings.filter((finding) => finding.check === 'hidden-dependencies');
      expect(hidden.map((finding) => [finding.severity, finding.file, finding.line])).toEqual([
        ['error', 'libs/orders/src/lib/lookup.ts', 2],
        ['error', 'libs/orders/src/lib/lookup.ts', 3],
      ]);
      expect(hidden[0].message).toBe(
        "imports '@ws/products' (project products), which is another task of this run (products:fanout): sessions of one run must not depend on each other.",
      );
      expect(hidden[0].fix).toContain("from the contracts ('@ws/contracts')");
      expect(hidden[1].message).toContain('reports → products');
      expect(existsSync(join(root, 'libs/orders/src/lib/lookup.ts'))).toBe(false);
    });

    it("fails a session that writes a sibling's port into its code, and accepts its own", async () => {
      const server = (port: string) =>
        `import { ORDERS_COLLECTION } from '@ws/contracts';\nexport const collection = ORDERS_COLLECTION;\n\nexport const PORT = ${port};\n`;
      const own = await runAndLand(
        sessionSpec(root, 'orders', commandTask(writeFiles({ ...faithful, 'libs/orders/src/lib/server.ts': server('20005') })), { run }),
      );
      expect(own.status).toBe('succeeded');

      const clash = await runAndLand(
        sessionSpec(
          root,
          'orders',
          commandTask(writeFiles({ ...faithful, 'libs/orders/src/lib/server.ts': server('Number(process.env.PORT ?? 20150)') })),
          { run },
        ),
      );
      expect(clash.status).toBe('failed');
      expect(clash.findings).toContainEqual({
        check: 'port-claims',
        severity: 'error',
        file: 'libs/orders/src/lib/server.ts',
        line: 4,
        message: 'claims port 20150, which belongs to the session of products (ports 20100–20199).',
        fix: "use this session's ports, 20000–20099: read them from process.env.FANOUT_PORT_BASE rather than writing a number.",
      });
      expect(clash.error).toContain('libs/orders/src/lib/server.ts:4: error: claims port 20150');
    });

    it('makes a hidden dependency a warning when the plugin options say so', async () => {
      const script = writeFiles({
        ...faithful,
        'libs/orders/src/lib/lookup.ts': "export { createProductsHandlers } from '@ws/products';\n",
      });
      const result = await runAndLand(
        sessionSpec(root, 'orders', commandTask(script), { run, checks: { checks: { 'hidden-dependencies': 'warning' } } }),
      );
      expect(result.status).toBe('succeeded');
      expect(result.findings).toMatchObject([{ check: 'hidden-dependencies', severity: 'warning', line: 1 }]);
    });

    it('lets the plugin options turn a check off', async () => {
      const script = writeFiles({ ...faithful, 'libs/orders/src/lib/types.ts': 'export interface User { id: string; name: string }\n' });
      const result = await runAndLand(
        sessionSpec(root, 'orders', commandTask(script), { checks: { checks: { 'contract-conformance': 'off' } } }),
      );
      expect(result.status).toBe('succeeded');
      expect(result.findings).toEqual([]);
    });
  });

  describe('the diff for review', () => {
    const diffFile = () => join(root, '.fanout/sessions/orders/changes.diff');

    it("records the diff of what it integrated in changes.diff, and each file's added and removed lines", async () => {
      write(root, 'libs/orders/src/old.ts', 'export const a = 1;\nexport const b = 2;\n');
      gitIn(root, 'add', '-A');
      gitIn(root, 'commit', '-q', '-m', 'old');
      const script = agentScript(
        root,
        'diff',
        `fs.writeFileSync('libs/orders/src/index.ts', "export * from './lib/orders';\\nexport const version = 2;\\n");
         fs.mkdirSync('libs/orders/src/lib', { recursive: true });
         fs.writeFileSync('libs/orders/src/lib/orders.ts', 'export const orders = [];\\nexport const count = 0;\\nexport const open = true;\\n');
         fs.writeFileSync('libs/orders/src/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 1, 2, 3]));
         fs.rmSync('libs/orders/src/old.ts');`,
      );
      const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script)));

      expect(result.status).toBe('succeeded');
      expect([...result.files].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
        {
          path: 'libs/orders/src/index.ts',
          status: 'modified',
          sha256: expect.any(String),
          baseSha256: expect.any(String),
          added: 2,
          removed: 1,
        },
        { path: 'libs/orders/src/lib/orders.ts', status: 'added', sha256: expect.any(String), added: 3, removed: 0 },
        { path: 'libs/orders/src/logo.png', status: 'added', sha256: expect.any(String), binary: true },
        { path: 'libs/orders/src/old.ts', status: 'deleted', baseSha256: expect.any(String), added: 0, removed: 2 },
      ]);
      const diff = readFileSync(diffFile(), 'utf-8');
      expect(result.diff).toEqual({
        file: '.fanout/sessions/orders/changes.diff',
        integrated: true,
        bytes: Buffer.byteLength(diff),
        keptBytes: Buffer.byteLength(diff),
      });
      expect(diff).toContain('diff --git a/libs/orders/src/index.ts b/libs/orders/src/index.ts');
      expect(diff).toContain("-export {};\n+export * from './lib/orders';\n+export const version = 2;\n");
      expect(diff).toContain('Binary files /dev/null and b/libs/orders/src/logo.png differ');
      expect(diff).toContain('deleted file mode 100644');
      // It is exactly what reached the workspace: undone in reverse, it leaves the files as they were before.
      gitIn(root, 'apply', '--check', '-R', '--exclude=libs/orders/src/logo.png', diffFile());
      const recorded = JSON.parse(readFileSync(join(root, '.fanout/sessions/orders/result.json'), 'utf-8'));
      expect(recorded.files).toEqual(result.files);
      expect(recorded.diff).toEqual(result.diff);
    });

    it('keeps a secret the agent wrote into a file out of the diff', async () => {
      const secret = 'tok-6f2b9c1e8d7a4b3c';
      const script = agentScript(
        root,
        'leak',
        `fs.writeFileSync('libs/orders/src/config.ts', 'export const token = "' + process.env.ORDERS_API_TOKEN + '";\\n');`,
      );
      const result = await runAndLand(
        sessionSpec(root, 'orders', commandTask(script), { env: { ...process.env, ORDERS_API_TOKEN: secret } }),
      );
      expect(result.status).toBe('succeeded');
      const diff = readFileSync(diffFile(), 'utf-8');
      expect(diff).toContain('+export const token = "[REDACTED]";');
      expect(diff).not.toContain(secret);
    });

    it("records a failed session's changes from its kept worktree, marked as not integrated", async () => {
      const script = agentScript(
        root,
        'escape',
        `fs.writeFileSync('libs/orders/src/ok.ts', 'ok\\n'); fs.writeFileSync('README.md', 'taken over\\n');`,
      );
      const result = await runAndLand(sessionSpec(root, 'orders', commandTask(script)));
      expect(result.status).toBe('failed');
      expect(result.files).toEqual([]);
      expect(result.diff).toMatchObject({ file: '.fanout/sessions/orders/changes.diff', integrated: false });
      const diff = readFileSync(diffFile(), 'utf-8');
      expect(diff).toContain('diff --git a/README.md b/README.md\nnew file mode 100644');
      expect(diff).toContain('+++ b/libs/orders/src/ok.ts\n@@ -0,0 +1 @@\n+ok\n');
    });

    it('forgets the diff of an earlier session of the task', async () => {
      const writer = agentScript(root, 'writer', `fs.writeFileSync('libs/orders/src/a.ts', 'export const a = 1;\\n');`);
      expect((await runAndLand(sessionSpec(root, 'orders', commandTask(writer)))).diff).toBeDefined();
      expect(existsSync(diffFile())).toBe(true);
      const idle = await runAndLand(sessionSpec(root, 'orders', commandTask(agentScript(root, 'idle', ''))));
      expect(idle.status).toBe('succeeded');
      expect(idle.diff).toBeUndefined();
      expect(existsSync(diffFile())).toBe(false);
    });
  });
});
