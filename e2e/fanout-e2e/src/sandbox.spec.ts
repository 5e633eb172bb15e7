import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killRunningCommands, runCommand } from './run-command';
import { INSTALLING, readyWorkspace, removeWorkspace, TEST_LIMIT, type TestWorkspace } from './workspace';

/**
 * The published package with default settings (`sandbox: auto`): a hostile `command` agent writes
 * its file, then tries to escape its worktree every way it can. None succeeds, its file lands, and
 * the denials are recorded.
 */
const TASK = 'intruder';
const HOSTILE = 'tools/agents/hostile.cjs';

/** The agent: its legitimate file first, then each escape; it prints what each attempt came to. */
function hostileAgent(checkout: string, port: number, marker: string): string {
  return `const fs = require('fs');
const path = require('path');
const http = require('http');
const cp = require('child_process');
const root = process.argv[2];
const tried = {};
const attempt = (name, fn) => { try { fn(); tried[name] = 'done'; } catch (error) { tried[name] = error.code || error.message; } };
fs.mkdirSync(path.join(root, 'src', 'lib'), { recursive: true });
fs.writeFileSync(path.join(root, 'src', 'lib', 'intruder.ts'), 'export const INTRUDER = 1;\\n');
// Its test too, so that the gate's test target has one to run.
fs.writeFileSync(path.join(root, 'src', 'lib', 'intruder.spec.ts'), "describe('intruder', () => {\\n  it('runs in the gate', () => {\\n    expect('intruder').toHaveLength(8);\\n  });\\n});\\n");
attempt('checkout', () => fs.writeFileSync(${JSON.stringify(join(checkout, 'ESCAPED.txt'))}, 'escaped'));
attempt('hook', () => fs.writeFileSync(${JSON.stringify(join(checkout, '.git', 'hooks', 'post-checkout'))}, '#!/bin/sh\\necho owned\\n', { mode: 0o755 }));
attempt('home', () => fs.writeFileSync(path.join(process.env.HOME, 'escaped.txt'), 'escaped'));
attempt('key', () => fs.writeFileSync(path.join(root, 'src', 'lib', 'key.txt'), fs.readFileSync(path.join(process.env.HOME, '.ssh', 'id_rsa'))));
attempt('token', () => { if (!process.env.GITHUB_TOKEN) throw new Error('no token'); fs.writeFileSync(path.join(root, 'src', 'lib', 'token.txt'), process.env.GITHUB_TOKEN); });
cp.spawn('/bin/sh', ['-c', 'exec -a ${marker} sleep 120'], { detached: true, stdio: 'ignore' }).unref();
http.get('http://127.0.0.1:${port}/escape', (r) => { tried.network = r.statusCode; r.resume(); r.on('end', done); }).on('error', (e) => { tried.network = e.code; done(); });
function done() { console.log('TRIED ' + JSON.stringify(tried)); }
`;
}

function running(marker: string): boolean {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .some((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').includes(marker);
      } catch {
        return false;
      }
    });
}

describe('the sandbox, with default settings', () => {
  let ws: TestWorkspace;
  let home: string;
  let server: Server;
  let port: number;
  const hits: string[] = [];

  beforeAll(async () => {
    ws = await readyWorkspace('sandbox');
    home = mkdtempSync(join(tmpdir(), 'fanout-e2e-home-'));
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_rsa'), '-----BEGIN OPENSSH PRIVATE KEY----- e2e-not-a-real-key\n');
    server = createServer((request, response) => {
      hits.push(request.url ?? '');
      response.end('reached the host');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  }, 2 * INSTALLING);

  afterEach(killRunningCommands);
  afterAll(async () => {
    killRunningCommands();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(home, { recursive: true, force: true });
    removeWorkspace(ws);
  });

  it(
    'lands the hostile agent work and none of its escapes, and records what the sandbox denied',
    async () => {
      const marker = `fanout-e2e-left-behind-${process.pid}`;
      ws.writeFile(HOSTILE, hostileAgent(ws.root, port, marker));
      await ws.commitEverything('e2e: a hostile agent', [HOSTILE]);
      await ws.nx(
        ['g', 'fanout:task', TASK, '--like=users', '--agent=command', `--command=node ${HOSTILE} {projectRoot}`, '--no-interactive'],
        INSTALLING,
      );
      await ws.commitEverything('e2e: its task');
      const root = (await ws.projectGraphNodes())[TASK]?.root ?? TASK;

      // Its own home folder, with a key in it, and a token in its environment.
      const run = await runCommand('npx', ['nx', 'run', `${TASK}:fanout`, '--outputStyle=static'], {
        cwd: ws.root,
        env: { ...ws.env, HOME: home, GITHUB_TOKEN: 'ghp_e2e_sandbox_0123456789' },
        timeoutMs: INSTALLING,
        allowFailure: true,
      });
      expect({ status: run.status, output: run.status === 0 ? '' : run.output.slice(-4000) }).toEqual({ status: 0, output: '' });

      const result = ws.readResult(TASK) as unknown as {
        status: string;
        log: string;
        files: { path: string }[];
        sandbox?: { on: boolean; mode: string; denials?: { kind: string; target: string }[]; policy?: { network: string[] } };
      };
      expect(result.status).toBe('succeeded');
      expect(ws.readFile(`${root}/src/lib/intruder.ts`)).toBe('export const INTRUDER = 1;\n');
      expect(result.files.map((file) => file.path).sort()).toEqual([`${root}/src/lib/intruder.spec.ts`, `${root}/src/lib/intruder.ts`]);
      for (const escaped of ['ESCAPED.txt', '.git/hooks/post-checkout', `${root}/src/lib/key.txt`, `${root}/src/lib/token.txt`]) {
        expect(ws.exists(escaped)).toBe(false);
      }
      expect(() => readFileSync(join(home, 'escaped.txt'))).toThrow();
      expect(hits).toEqual([]);
      expect(running(marker)).toBe(false);

      const log = readFileSync(result.log, 'utf8');
      const tried = JSON.parse(/^TRIED (.*)$/m.exec(log)?.[1] ?? '{}');
      expect(tried).toMatchObject({
        checkout: 'EROFS',
        hook: 'EROFS',
        home: 'EROFS',
        key: 'ENOENT',
        token: 'no token',
        network: 'ECONNREFUSED',
      });
      expect(log).not.toContain('e2e-not-a-real-key');
      expect(JSON.stringify(result)).not.toContain('ghp_e2e_sandbox');
      expect(result.sandbox).toMatchObject({ on: true, mode: 'auto', policy: { network: [] } });
      expect(result.sandbox?.denials).toEqual(
        expect.arrayContaining([
          { kind: 'filesystem', target: ws.path('ESCAPED.txt') },
          { kind: 'filesystem', target: ws.path('.git', 'hooks', 'post-checkout') },
        ]),
      );
      expect(ws.readFile('.fanout/report.md')).toContain('sandbox: on, denied');
    },
    TEST_LIMIT,
  );
});
