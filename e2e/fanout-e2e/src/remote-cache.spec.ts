import { writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { artifactFiles } from './nx-cache-artifact';
import { startRemoteCacheServer, type RemoteCacheServer } from './remote-cache-server';
import { killRunningCommands, runCommand } from './run-command';
import { printedAsRun, replayedFrom } from './task-runs';
import { ownCacheEnv } from './own-cache';
import { INSTALLING, readyWorkspace, removeWorkspace, TEST_LIMIT, TestWorkspace } from './workspace';

/** The tokens of the test's cache server: one for main-branch jobs, one for pull requests. */
const TOKENS = { readWrite: 'fanout-e2e-read-write-token', readOnly: 'fanout-e2e-read-only-token' };

const TASKS = ['orders', 'products'];

/** A checkout's environment: its own local cache, the remote cache server and a token. */
function remoteCacheEnv(root: string, server: RemoteCacheServer, token: string): NodeJS.ProcessEnv {
  return ownCacheEnv(root, {
    NX_SELF_HOSTED_REMOTE_CACHE_SERVER: server.url,
    NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN: token,
  });
}

/** PUT or GET one hash on the server: the status and body. */
function call(
  server: RemoteCacheServer,
  method: 'GET' | 'PUT',
  hash: string,
  options: { token?: string; body?: Buffer; chunked?: boolean } = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = {};
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body && !options.chunked) headers['content-length'] = options.body.length;
    const outgoing = request(`${server.url}/v1/cache/${hash}`, { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    outgoing.on('error', reject);
    // A body written before end() goes out chunked, without a Content-Length.
    if (options.chunked && options.body) outgoing.write(options.body);
    outgoing.end(options.chunked ? undefined : options.body);
  });
}

describe('fanout results through a self-hosted remote cache', () => {
  let server: RemoteCacheServer;
  /** Clone A: the main job, read-write token. */
  let a: TestWorkspace;
  /**
   * Clone B: another machine with its own (empty) local cache and a read-only token. It was
   * cloned from A before A committed the tasks, and got the same tasks' files in a commit of
   * its own: the same inputs, so A's sessions replay in B, but the commit they started from
   * is not in B's history.
   */
  let b: TestWorkspace;
  let roots: Record<string, string> = {};

  beforeAll(async () => {
    server = await startRemoteCacheServer(TOKENS);
    const ready = await readyWorkspace('remote-cache');
    a = new TestWorkspace(ready.root, remoteCacheEnv(ready.root, server, TOKENS.readWrite));
    const cloneB = join(dirname(a.root), 'clone-b');
    await runCommand('git', ['clone', '-q', a.root, cloneB], { cwd: dirname(a.root), env: a.env });

    await a.nx(['g', 'fanout:task', TASKS.join(','), '--like=users', '--no-interactive'], INSTALLING);
    // This suite counts the server's artifacts: the gate's own targets, run by the gate's
    // nx in each worktree, would store theirs too. The gate is covered by the agents' suites.
    a.setPluginOptions({ gate: [] });
    await a.commitEverything('e2e: tasks');
    const nodes = await a.projectGraphNodes();
    roots = Object.fromEntries(TASKS.map((task) => [task, nodes[task]?.root ?? task]));

    b = new TestWorkspace(cloneB, remoteCacheEnv(cloneB, server, TOKENS.readOnly));
    const tasksPatch = join(dirname(a.root), 'tasks.patch');
    writeFileSync(tasksPatch, (await a.run('git', ['diff', '--binary', 'HEAD~1', 'HEAD'])).stdout);
    await b.run('git', ['apply', '--index', tasksPatch]);
    await b.commitEverything('e2e: the same tasks, committed in this clone');
    await runCommand('cp', ['-al', a.path('node_modules'), b.path('node_modules')], { cwd: b.root, env: b.env });
  }, 2 * INSTALLING);

  afterEach(killRunningCommands);

  afterAll(async () => {
    killRunningCommands();
    await server?.stop();
    // Clone B lives next to clone A: removing A's folder removes both.
    removeWorkspace(a);
  });

  it('the cache server follows the specification: bearer tokens, 200/409 on PUT, 200/404 on GET, read-only tokens refused with 403', async () => {
    const check = await startRemoteCacheServer({ readWrite: 'rw', readOnly: 'ro' });
    try {
      const artifact = Buffer.from('artifact bytes');
      expect((await call(check, 'PUT', '101', { body: artifact })).status).toBe(401);
      expect((await call(check, 'PUT', '101', { token: 'wrong', body: artifact })).status).toBe(401);
      expect((await call(check, 'PUT', '101', { token: 'ro', body: artifact })).status).toBe(403);
      expect((await call(check, 'PUT', '101', { token: 'rw', body: artifact, chunked: true })).status).toBe(400);
      expect((await call(check, 'GET', '101', { token: 'rw' })).status).toBe(404);
      expect((await call(check, 'PUT', '101', { token: 'rw', body: artifact })).status).toBe(200);
      expect((await call(check, 'PUT', '101', { token: 'rw', body: Buffer.from('another') })).status).toBe(409);
      expect(await call(check, 'GET', '101', { token: 'ro' })).toEqual({ status: 200, body: artifact });
      expect((await call(check, 'GET', '101', { token: 'wrong' })).status).toBe(401);
      expect((await call(check, 'GET', '101')).status).toBe(401);
    } finally {
      await check.stop();
    }
  });

  it(
    'clone A runs every session and stores each result, files included, on the server',
    async () => {
      // The outer CI run sets NX_SKIP_NX_CACHE; the workspaces under test must not inherit it.
      expect(Object.keys(a.env).filter((name) => /^NX_SKIP/i.test(name))).toEqual([]);

      const { output } = await a.nx(['run-many', '-t', 'fanout', '--parallel=2'], INSTALLING);

      for (const task of TASKS) expect(printedAsRun(output, `${task}:fanout-session`)).toBe(true);
      // The sessions are stored, and so are the reference's and the contracts' own checks that gate them.
      const stores = server.requests.filter((call) => call.method === 'PUT');
      expect([...new Set(stores.map((call) => `${call.token} ${call.status}`))]).toEqual(['read-write 200']);
      expect(stores).toHaveLength(server.artifacts.size);
      const stored = [...server.artifacts.values()].map(artifactFiles);
      const sessions = stored.filter((files) => [...files.keys()].some((path) => /^\.fanout\/sessions\/[^/]+\/result\.json$/.test(path)));
      expect(sessions).toHaveLength(TASKS.length);
      for (const task of TASKS) {
        const result = `.fanout/sessions/${task}/result.json`;
        const artifact = stored.find((files) => files.has(result));
        // The record as the session wrote it; the landing then added what it did in A.
        const { integratedAt: _at, landing: _landing, wired: _wired, ...record } = JSON.parse(artifact?.get(result)?.toString() ?? '{}');
        expect(record).toEqual(a.readRecord(task));
        for (const file of a.readResult(task).files) {
          expect(file.path.startsWith(`${roots[task]}/src/`)).toBe(true);
          // The cache holds the session's copy, never the project's own file: the landing writes that.
          expect(artifact?.has(file.path)).toBe(false);
          expect(artifact?.get(`.fanout/sessions/${task}/files/${file.path}`)?.toString()).toBe(a.readFile(file.path));
        }
      }
    },
    TEST_LIMIT,
  );

  it(
    'clone B, with no local cache and a read-only token, replays every session from the remote cache, files restored',
    async () => {
      expect(b.exists('.nx/cache') || b.exists('.nx/workspace-data') || b.exists('.fanout')).toBe(false);
      const requestsBefore = server.requests.length;

      const { output } = await b.nx(['run-many', '-t', 'fanout', '--parallel=2'], INSTALLING);

      for (const task of TASKS) {
        expect({ task, replayedFrom: replayedFrom(output, `${task}:fanout-session`) }).toEqual({ task, replayedFrom: 'remote' });
        // No session ran in B: its record is A's; B's landing wrote its files.
        expect(b.readRecord(task)).toEqual(a.readRecord(task));
        expect(b.readResult(task).landing).toMatchObject({ ranNow: false });
        const { files } = b.readResult(task);
        expect(files.length).toBeGreaterThan(0);
        for (const file of files) expect(b.sha256(file.path)).toBe(file.sha256);
      }
      const calls = server.requests.slice(requestsBefore);
      expect(calls.filter((call) => call.method === 'PUT')).toEqual([]);
      // Every stored task, the sessions and the checks that gate them, is read once and found.
      expect([...new Set(calls.map((call) => `${call.method} ${call.token} ${call.status}`))]).toEqual(['GET read-only 200']);
      expect(calls).toHaveLength(server.artifacts.size);
      expect(await b.worktrees()).toHaveLength(1);
      // B restored them through its own local cache, not one shared with A.
      expect(b.exists('.nx/cache')).toBe(true);
    },
    TEST_LIMIT,
  );

  it(
    'clone B verifies the replayed sessions, though the commit they recorded is not in its history: verify says which base it used instead',
    async () => {
      const recorded = b.readResult('orders').baseCommit;
      expect(TASKS.map((task) => b.readResult(task).baseCommit)).toEqual(TASKS.map(() => recorded));
      expect((await b.runFailing('git', ['cat-file', '-e', `${recorded}^{commit}`])).status).not.toBe(0);
      // The last commit that changed the tasks' inputs (their fanout.md): B's own tasks commit.
      const inputsCommit = (await b.run('git', ['rev-parse', 'HEAD'])).stdout.trim();

      const { output } = await b.nx(
        // static: Nx prints the output of successful tasks too, verify's summary among them.
        ['run-many', '-t', 'fanout', 'fanout-verify', '--parallel=2', '--outputStyle=static'],
        2 * INSTALLING,
      );

      for (const task of TASKS) {
        expect({ task, replayedFrom: replayedFrom(output, `${task}:fanout-session`) }).toEqual({ task, replayedFrom: 'local' });
        expect(b.readResult(task).baseCommit).toBe(recorded);
      }
      expect(output).not.toContain('bad object');
      expect(output).toContain(
        `base ${inputsCommit.slice(0, 7)}: the recorded base ${recorded.slice(0, 7)} is not in this repository (a replay from another clone's cache); using the last commit that changed the tasks' inputs`,
      );
      expect(output).toContain(`--base=${inputsCommit}`);
      expect(output).toContain(`✔ fanout-verify: ${TASKS.length} session(s) verified together`);
      expect(b.readFile('.fanout/report.md')).toContain(`against base \`${inputsCommit}\``);
    },
    2 * INSTALLING + 60_000,
  );

  it(
    'a session run with a read-only token is not stored: the server refuses the PUT and the task still succeeds',
    async () => {
      // A session commits in its worktree: git clone does not carry A's identity over.
      await b.run('git', ['config', 'user.name', 'fanout e2e']);
      await b.run('git', ['config', 'user.email', 'fanout-e2e@example.com']);
      const assignment = `${roots.orders}/fanout.md`;
      b.writeFile(assignment, `${b.readFile(assignment).trimEnd()}\nKeep the handlers small.\n`);
      const before = b.readResult('orders');
      const artifactsBefore = new Map(server.artifacts);
      const requestsBefore = server.requests.length;

      const { output } = await b.nx(['run', 'orders:fanout'], INSTALLING);

      const after = b.readResult('orders');
      expect(replayedFrom(output, 'orders:fanout-session')).toBeUndefined();
      expect(after.status).toBe('succeeded');
      expect(after.startedAt).not.toBe(before.startedAt);
      const calls = server.requests.slice(requestsBefore);
      expect(calls.map((call) => [call.method, call.token, call.status])).toEqual([
        ['GET', 'read-only', 404],
        ['PUT', 'read-only', 403],
      ]);
      expect(server.artifacts).toEqual(artifactsBefore);
      for (const file of after.files) expect(b.sha256(file.path)).toBe(file.sha256);
      expect(await b.worktrees()).toHaveLength(1);
    },
    TEST_LIMIT,
  );
});
