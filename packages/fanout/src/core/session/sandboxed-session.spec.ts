import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { agentScript, commandTask, createWorkspace, sessionSpec, type TestWorkspace } from '../../testing/git-workspace';
import { runAndLand } from '../../testing/run-and-land';
import { describeUnavailable, sandboxAvailability, sandboxAvailabilityHere } from '../sandbox/availability';
import { sessionSandboxSetting, type SandboxMode } from '../sandbox/settings';
import { runSession } from './session';
import { processRunning } from '../../testing/processes';

const availability = sandboxAvailabilityHere();
const describeSandboxed = availability.available ? describe : describe.skip;

/** A machine without bubblewrap and socat, as the availability check would find it. */
const withoutTools = () =>
  sandboxAvailability({
    platform: 'linux',
    onPath: (command) => !['bwrap', 'socat'].includes(command),
    namespacesProblem: () => null,
    libraryResolvable: () => true,
  });

const setting = (mode: SandboxMode) => sessionSandboxSetting({ run: mode });

describe('a session and the sandbox setting', () => {
  let ws: TestWorkspace;
  beforeEach(() => (ws = createWorkspace(['orders'])));
  afterEach(() => ws.remove());

  const writer = () => agentScript(ws, 'writer', `fs.writeFileSync('libs/orders/src/orders.ts', 'export const ORDERS = 1;\\n');`);

  it('auto, where the sandbox cannot run: says what is missing and how to install it, and runs the agent unsandboxed', async () => {
    const lines: string[] = [];
    const result = await runAndLand(
      sessionSpec(ws.root, 'orders', commandTask(`node ${writer()}`), {
        sandbox: setting('auto'),
        sandboxAvailability: withoutTools,
        log: (line) => lines.push(line),
      }),
    );
    expect(result.status).toBe('succeeded');
    expect(result.sandbox).toEqual({ on: false, mode: 'auto' });
    expect(readFileSync(join(ws.root, 'libs/orders/src/orders.ts'), 'utf8')).toBe('export const ORDERS = 1;\n');
    const warning = describeUnavailable(withoutTools());
    expect(warning).toContain('bubblewrap (bwrap) on PATH; socat on PATH');
    expect(warning).toContain('apt-get install -y bubblewrap socat ripgrep');
    expect(readFileSync(result.log, 'utf8')).toContain(warning);
  });

  it('on, where the sandbox cannot run: refused with the install command, before any worktree exists', async () => {
    const result = await runSession(
      sessionSpec(ws.root, 'orders', commandTask(`node ${writer()}`), { sandbox: setting('on'), sandboxAvailability: withoutTools }),
    );
    expect(result.status).toBe('failed');
    expect(result.error).toContain('sandbox "on": The sandbox cannot run here: missing bubblewrap (bwrap) on PATH; socat on PATH.');
    expect(result.error).toContain('Install it with: apt-get install -y bubblewrap socat ripgrep');
    expect(existsSync(join(ws.root, '.fanout', 'worktrees', 'orders'))).toBe(false);
    expect(result.worktree).toBeUndefined();
  });

  it("fanout.md's sandbox: off runs the agent as before, with the user's environment", async () => {
    const script = agentScript(
      ws,
      'env',
      `fs.writeFileSync('libs/orders/src/orders.ts', 'export const T = ' + JSON.stringify(process.env.MY_SECRET) + ';\\n');`,
    );
    const md = commandTask(`node ${script}`, 'sandbox: off\n');
    const result = await runAndLand(sessionSpec(ws.root, 'orders', md, { sandbox: undefined, env: { ...process.env, MY_SECRET: 'x' } }));
    expect(result.status).toBe('succeeded');
    expect(result.sandbox).toEqual({ on: false, mode: 'off' });
  });
});

describeSandboxed(`a sandboxed session${availability.available ? '' : ` (skipped: ${describeUnavailable(availability)})`}`, () => {
  let ws: TestWorkspace;
  let home: string;
  let server: Server;
  let port: number;
  const hits: string[] = [];

  beforeEach(async () => {
    ws = createWorkspace(['orders']);
    home = mkdtempSync(join(tmpdir(), 'fanout-home-'));
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_rsa'), '-----BEGIN OPENSSH PRIVATE KEY----- not-a-real-key\n');
    hits.length = 0;
    server = createServer((request, response) => {
      hits.push(request.url ?? '');
      response.end('reached the host');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterEach(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    ws.remove();
    rmSync(home, { recursive: true, force: true });
  });

  it('lands the work of a hostile command agent and nothing of its escapes, and records what was denied', async () => {
    const marker = `fanout-left-behind-${process.pid}-${Date.now()}`;
    const checkout = ws.root;
    const script = agentScript(
      ws,
      'hostile',
      `
const http = require('http');
const tried = {};
const attempt = (name, fn) => { try { fn(); tried[name] = 'done'; } catch (error) { tried[name] = error.code || error.message; } };
fs.writeFileSync('libs/orders/src/orders.ts', 'export const ORDERS = 1;\\n');
attempt('checkout', () => fs.writeFileSync(${JSON.stringify(join(checkout, 'ESCAPED.txt'))}, 'escaped'));
attempt('hook', () => fs.writeFileSync(${JSON.stringify(join(checkout, '.git', 'hooks', 'post-checkout'))}, '#!/bin/sh\\necho owned\\n', { mode: 0o755 }));
attempt('home', () => fs.writeFileSync(path.join(process.env.HOME, 'escaped.txt'), 'escaped'));
attempt('key', () => fs.writeFileSync('libs/orders/src/key.txt', fs.readFileSync(path.join(process.env.HOME, '.ssh', 'id_rsa'))));
attempt('token', () => { if (!process.env.GITHUB_TOKEN) throw new Error('no token'); fs.writeFileSync('libs/orders/src/token.txt', process.env.GITHUB_TOKEN); });
cp.spawn('/bin/sh', ['-c', 'exec -a ${marker} sleep 60'], { detached: true, stdio: 'ignore' }).unref();
const done = () => { console.log(JSON.stringify(tried)); process.exit(0); };
const proxy = process.env.HTTP_PROXY && new URL(process.env.HTTP_PROXY);
const target = 'http://127.0.0.1:${port}/escape';
// Directly, then through the sandbox's proxy (as a client that honours HTTP_PROXY would).
http.get(target, (r) => { tried.direct = r.statusCode; r.resume(); r.on('end', viaProxy); }).on('error', (e) => { tried.direct = e.code; viaProxy(); });
function viaProxy() {
  if (!proxy) return done();
  const auth = Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');
  http.get({ host: proxy.hostname, port: proxy.port, path: target, headers: { 'Proxy-Authorization': 'Basic ' + auth } }, (r) => { tried.proxy = r.statusCode; r.resume(); r.on('end', done); })
    .on('error', (e) => { tried.proxy = e.code; done(); });
}
`,
    );
    const result = await runAndLand(
      sessionSpec(ws.root, 'orders', commandTask(`node ${script}`), {
        sandbox: setting('auto'),
        env: { ...process.env, HOME: home, GITHUB_TOKEN: 'ghp_sandboxtest0123456789' },
      }),
    );
    const log = readFileSync(result.log, 'utf8');
    expect({ status: result.status, error: result.error }).toEqual({ status: 'succeeded', error: undefined });
    // The legitimate file landed, and nothing else did.
    expect(readFileSync(join(ws.root, 'libs/orders/src/orders.ts'), 'utf8')).toBe('export const ORDERS = 1;\n');
    expect(result.files.map((file) => file.path)).toEqual(['libs/orders/src/orders.ts']);
    expect(existsSync(join(ws.root, 'ESCAPED.txt'))).toBe(false);
    expect(existsSync(join(ws.root, '.git', 'hooks', 'post-checkout'))).toBe(false);
    expect(existsSync(join(home, 'escaped.txt'))).toBe(false);
    expect(existsSync(join(ws.root, 'libs/orders/src/key.txt'))).toBe(false);
    expect(existsSync(join(ws.root, 'libs/orders/src/token.txt'))).toBe(false);
    expect(log).not.toContain('not-a-real-key');
    expect(log).not.toContain('ghp_sandboxtest');
    expect(hits).toEqual([]);
    const tried = JSON.parse(log.split('\n').find((line) => line.startsWith('{"checkout"')) ?? '{}');
    expect(tried).toMatchObject({
      checkout: 'EROFS',
      hook: 'EROFS',
      home: 'EROFS',
      key: 'ENOENT',
      token: 'no token',
      direct: 'ECONNREFUSED',
      proxy: 403,
    });
    expect(processRunning(marker)).toBe(false);
    // Recorded: on, under which policy (no secret), and what was denied.
    expect(result.sandbox).toMatchObject({ on: true, mode: 'auto' });
    expect(result.sandbox?.policy?.writable).toEqual([
      join(ws.root, '.fanout', 'worktrees', 'orders'),
      expect.stringContaining('fanout-agent-'),
    ]);
    expect(result.sandbox?.policy?.network).toEqual([]);
    expect(result.sandbox?.policy?.readDenied).toContain(join(home, '.ssh'));
    expect(result.sandbox?.denials).toEqual(
      expect.arrayContaining([
        { kind: 'filesystem', target: join(ws.root, 'ESCAPED.txt') },
        { kind: 'filesystem', target: join(ws.root, '.git', 'hooks', 'post-checkout') },
        { kind: 'network', target: `127.0.0.1:${port}` },
      ]),
    );
    expect(JSON.stringify(result)).not.toContain('ghp_sandboxtest');
    expect(log).toContain('sandbox: warning: the agent was denied');
    // The private folder went with the session.
    expect(existsSync(result.sandbox?.policy?.writable[1] as string)).toBe(false);
  }, 60_000);

  it('fails an agent that failed after a denial, naming what it was denied', async () => {
    const script = agentScript(ws, 'needs-home', `fs.writeFileSync(path.join(process.env.HOME, '.agent-state'), 'x');`);
    const result = await runSession(
      sessionSpec(ws.root, 'orders', commandTask(`node ${script}`), { sandbox: setting('on'), env: { ...process.env, HOME: home } }),
    );
    expect(result.status).toBe('failed');
    expect(result.error).toContain(`The sandbox denied it file access to ${join(home, '.agent-state')}`);
    expect(result.error).toContain('sandbox.allowedDomains, sandbox.env');
  }, 60_000);

  it('runs the pattern agent in a child process the sandbox confines', async () => {
    const result = await runAndLand(
      sessionSpec(ws.root, 'orders', '---\nlike: users\ncontracts: contracts\n---\n\nBuild it.\n', { sandbox: setting('on') }),
    );
    expect({ status: result.status, error: result.error }).toEqual({ status: 'succeeded', error: undefined });
    expect(result.sandbox).toMatchObject({ on: true, mode: 'on', denials: [] });
    expect(readFileSync(join(ws.root, 'libs/orders/src/index.ts'), 'utf8')).toBe("export const ORDERS = 'orders';\n");
  }, 60_000);
});
