import { runAndLand } from '../../testing/run-and-land';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { agentScript, commandTask, createWorkspace, gitIn, sessionSpec, write, type TestWorkspace } from '../../testing/git-workspace';
import { parseAssignment, renderAssignment } from './assignment';
import { assembleBase } from './prompt';
import { copySessionFile, IntegrationRefused } from './integrate';
import { type SessionSpec } from './session-spec';
import { present } from '../system/files';
import { bytes } from '../../testing/workspace-bytes';

/**
 * A session is untrusted: what it writes, names and prints is data. Shell syntax
 * in an assignment, a command template or a task name is never run; links it
 * makes never let fanout read or write outside the session's files; secrets in
 * the environment never reach a log or result.json.
 */

/** Every path below `dir` whose last part starts with CANARY. */
function canaries(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf-8' }).filter((path) => /(^|\/)CANARY/.test(path));
}

describe('untrusted sessions', () => {
  let ws: TestWorkspace;

  beforeEach(() => {
    ws = createWorkspace(['orders']);
  });

  afterEach(() => ws.remove());

  describe('shell syntax is data', () => {
    /** A task whose project name and project root are chosen by the test. */
    function task(project: string, projectRoot: string, fanoutMd: string): SessionSpec {
      write(ws.root, `${projectRoot}/src/index.ts`, 'export {};\n');
      gitIn(ws.root, 'add', '-A');
      gitIn(ws.root, 'commit', '-q', '-m', 'task');
      write(ws.root, `${projectRoot}/fanout.md`, fanoutMd);
      const contracts = { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' };
      const reference = { project: 'users', root: 'libs/users' };
      return {
        workspaceRoot: ws.root,
        project,
        projectRoot,
        assignment: parseAssignment(fanoutMd, `${projectRoot}/fanout.md`),
        contracts,
        reference,
        base: assembleBase({ workspaceRoot: ws.root, conventions: ['AGENTS.md'], contracts, reference }),
        copyFiles: [],
        portBase: 20_000,
        echo: false,
      };
    }

    it('in the command template, the assignment and the task name: no canary is ever created', async () => {
      const name = 'o$(touch${IFS}CANARY_N1);touch${IFS}CANARY_N2|touch${IFS}CANARY_N3&&x\'y"`touch${IFS}CANARY_N4`';
      const text = [
        'Build it. $(touch CANARY_T1) `touch CANARY_T2`; touch CANARY_T3 | touch CANARY_T4 && touch CANARY_T5',
        'A "double" and a \'single\' quote, $HOME, ${PATH}, > CANARY_T6, and a new line:',
        '$(touch CANARY_T7)',
      ].join('\n');
      const script = agentScript(
        ws,
        'recorder',
        `fs.writeFileSync('libs/inject/src/seen.json', JSON.stringify({
           argv: process.argv.slice(2),
           project: process.env.FANOUT_PROJECT,
           prompt: fs.readFileSync(process.argv[2], 'utf-8'),
         }));`,
      );
      const template =
        `node ${script} {promptFile} {project} $(touch CANARY_C1) \`touch CANARY_C2\` ; touch CANARY_C3 | touch CANARY_C4 ` +
        `&& touch CANARY_C5 "$(touch CANARY_C6)" 'x; touch CANARY_C7' > CANARY_C8`;
      const spec = task(
        name,
        'libs/inject',
        renderAssignment({ like: 'users', contracts: 'contracts', agent: 'command', command: template, text }),
      );

      const result = await runAndLand(spec);

      expect(result.error).toBeUndefined();
      const seen = JSON.parse(readFileSync(join(ws.root, 'libs/inject/src/seen.json'), 'utf-8'));
      // Every word reached the program as it was written, one argv element each.
      expect(seen.argv).toEqual([
        result.promptFile,
        name,
        '$(touch',
        'CANARY_C1)',
        '`touch',
        'CANARY_C2`',
        ';',
        'touch',
        'CANARY_C3',
        '|',
        'touch',
        'CANARY_C4',
        '&&',
        'touch',
        'CANARY_C5',
        '$(touch CANARY_C6)',
        'x; touch CANARY_C7',
        '>',
        'CANARY_C8',
      ]);
      expect(seen.project).toBe(name);
      expect(seen.prompt).toContain(text);
      for (const dir of [ws.root, ws.scripts, process.cwd()]) expect(canaries(dir)).toEqual([]);
    });

    it('refuses a task name that cannot be a folder and a git branch, before anything is written', async () => {
      const script = agentScript(ws, 'noop', '');
      const spec = sessionSpec(ws.root, 'orders', commandTask(`node ${script}`));
      await expect(runAndLand({ ...spec, project: '../../escaped' })).rejects.toThrow(
        'The project name "../../escaped" cannot name a fanout session',
      );
      await expect(runAndLand({ ...spec, project: 'orders\ntouch CANARY' })).rejects.toThrow('a control character');
      expect(existsSync(join(ws.root, '.fanout'))).toBe(false);
      expect(present(join(ws.root, 'escaped'))).toBe(false);
    });
  });

  describe('links', () => {
    it('never follows a symbolic link (to a file or a folder) or a hard link the session made', async () => {
      const secretFile = join(ws.scripts, 'secret.txt');
      writeFileSync(secretFile, 'TOP SECRET, outside the workspace\n');
      const secretDir = join(ws.scripts, 'secret-dir');
      mkdirSync(secretDir);
      writeFileSync(join(secretDir, 'id.txt'), 'ANOTHER SECRET\n');
      const script = agentScript(
        ws,
        'links',
        `fs.writeFileSync('libs/orders/src/ok.ts', 'export const ok = 1;\\n');
         fs.symlinkSync(${JSON.stringify(secretFile)}, 'libs/orders/src/leak.ts');
         fs.symlinkSync(${JSON.stringify(secretDir)}, 'libs/orders/src/linked');
         fs.linkSync(${JSON.stringify(secretFile)}, 'libs/orders/src/hard.ts');`,
      );
      const spec = sessionSpec(ws.root, 'orders', commandTask(`node ${script}`));
      const before = bytes(ws.root);
      const outside = bytes(ws.scripts);

      const result = await runAndLand(spec);

      expect(result.status).toBe('failed');
      expect(result.error).toContain('libs/orders/src/leak.ts (a symbolic link, which fanout never integrates)');
      expect(result.error).toContain('libs/orders/src/linked (a symbolic link, which fanout never integrates)');
      expect(result.error).toContain('libs/orders/src/hard.ts (a hard link to another file)');
      expect(result.error).toContain('nothing was recorded');
      // Nothing of it reached the workspace, not even the plain file (all or nothing).
      expect(bytes(ws.root)).toEqual(before);
      for (const path of ['ok.ts', 'leak.ts', 'linked', 'hard.ts']) expect(present(join(ws.root, 'libs/orders/src', path))).toBe(false);
      expect(bytes(ws.scripts)).toEqual(outside);
    });

    it('never writes through a symbolic link in the workspace that a session replaced by a folder', async () => {
      const vendor = join(ws.scripts, 'vendor');
      mkdirSync(vendor);
      symlinkSync(vendor, join(ws.root, 'libs/orders/src/vendor'));
      gitIn(ws.root, 'add', '-A');
      gitIn(ws.root, 'commit', '-q', '-m', 'vendor link');
      const script = agentScript(
        ws,
        'replace-link',
        `fs.rmSync('libs/orders/src/vendor');
         fs.mkdirSync('libs/orders/src/vendor');
         fs.writeFileSync('libs/orders/src/vendor/planted.ts', 'export const planted = 1;\\n');`,
      );
      const spec = sessionSpec(ws.root, 'orders', commandTask(`node ${script}`));
      const before = bytes(ws.root);

      const result = await runAndLand(spec);

      expect(result.status).toBe('failed');
      expect(result.error).toContain("libs/orders/src/vendor/planted.ts (the workspace's libs/orders/src/vendor is a symbolic link)");
      expect(readdirSync(vendor)).toEqual([]);
      expect(bytes(ws.root)).toEqual(before);
    });

    describe('copySessionFile, reading a file the checks accepted', () => {
      let dir: string;

      beforeEach(() => {
        dir = mkdtempSync(join(tmpdir(), 'fanout-copy-'));
        mkdirSync(join(dir, 'worktree/src'), { recursive: true });
        writeFileSync(join(dir, 'secret.txt'), 'SECRET\n');
      });

      afterEach(() => rmSync(dir, { recursive: true, force: true }));

      it('copies a plain file with its mode', () => {
        writeFileSync(join(dir, 'worktree/src/run.sh'), '#!/bin/sh\n');
        chmodSync(join(dir, 'worktree/src/run.sh'), 0o750);
        copySessionFile(join(dir, 'worktree'), 'src/run.sh', join(dir, 'copy'));
        expect(readFileSync(join(dir, 'copy'), 'utf-8')).toBe('#!/bin/sh\n');
        expect(statSync(join(dir, 'copy')).mode & 0o777).toBe(0o750);
      });

      it('refuses a link swapped in for the file after the checks', () => {
        symlinkSync(join(dir, 'secret.txt'), join(dir, 'worktree/src/a.ts'));
        expect(() => copySessionFile(join(dir, 'worktree'), 'src/a.ts', join(dir, 'copy'))).toThrow(IntegrationRefused);
        expect(() => copySessionFile(join(dir, 'worktree'), 'src/a.ts', join(dir, 'copy'))).toThrow('src/a.ts is a symbolic link');
        expect(existsSync(join(dir, 'copy'))).toBe(false);
      });

      it('refuses a link swapped in for one of its folders', () => {
        mkdirSync(join(dir, 'elsewhere'));
        writeFileSync(join(dir, 'elsewhere/a.ts'), 'SECRET\n');
        symlinkSync(join(dir, 'elsewhere'), join(dir, 'worktree/src/lib'));
        expect(() => copySessionFile(join(dir, 'worktree'), 'src/lib/a.ts', join(dir, 'copy'))).toThrow(
          'src/lib/a.ts is inside src/lib, a symbolic link',
        );
        expect(existsSync(join(dir, 'copy'))).toBe(false);
      });
    });
  });

  describe('secrets', () => {
    const SECRETS = { SERVICE_API_KEY: 'svc-key-7f3a9c2e51b4', GH_TOKEN: 'ghtok-4b8d1e6f0a93', APP_SECRET: 'appsecret-9k2m4x7q' };
    const env = { ...process.env, ...SECRETS };

    /** Neither a secret nor its second half (what a split chunk would show) is anywhere in `text`. */
    function expectNoSecret(text: string): void {
      for (const value of Object.values(SECRETS)) {
        expect(text).not.toContain(value);
        expect(text).not.toContain(value.slice(value.length / 2));
      }
    }

    it('never reach the session log, result.json or the returned result of a command agent that prints and writes them', async () => {
      const script = agentScript(
        ws,
        'leaky',
        `console.log(JSON.stringify(process.env));
         process.stderr.write('my secret is ' + process.env.APP_SECRET + '\\n');
         const key = process.env.SERVICE_API_KEY;
         process.stdout.write('key=' + key.slice(0, 10));
         setTimeout(() => {
           process.stdout.write(key.slice(10) + '\\n');
           fs.writeFileSync('libs/orders/src/' + process.env.GH_TOKEN + '.ts', 'export const token = 1;\\n');
           fs.writeFileSync('NOTES-' + process.env.APP_SECRET + '.md', 'outside the scope\\n');
         }, 300);`,
      );
      const result = await runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${script}`), { env }));

      expect(result.status).toBe('failed');
      expect(result.error).toContain('NOTES-[REDACTED].md (added, outside-scope)');
      const log = readFileSync(result.log, 'utf-8');
      expect(log).toContain('my secret is [REDACTED]');
      // stdout and stderr are two pipes: the stderr line may land between the two halves of the key.
      expect(log.replace('my secret is [REDACTED]\n', '')).toContain('key=[REDACTED]');
      expectNoSecret(log);
      expectNoSecret(readFileSync(join(ws.root, '.fanout/sessions/orders/result.json'), 'utf-8'));
      expectNoSecret(JSON.stringify(result));
    });

    it("never reach the result through an agent's summary", async () => {
      // A stand-in for the Claude Code CLI: it prints its environment and reports the secrets in its result.
      const bin = join(ws.root, 'node_modules/.bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(
        join(bin, 'claude'),
        `#!${process.execPath}
require('fs').writeFileSync('libs/orders/src/orders.ts', 'export const orders = 1;\\n');
console.log(JSON.stringify(process.env));
console.log(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, session_id: 's-1',
  result: 'Done. I used ' + process.env.SERVICE_API_KEY + ' and ' + process.env.GH_TOKEN + '.' }));
`,
      );
      chmodSync(join(bin, 'claude'), 0o755);
      const fanoutMd = '---\nlike: users\ncontracts: contracts\nagent: claude\n---\n\nBuild it.\n';
      const result = await runAndLand(sessionSpec(ws.root, 'orders', fanoutMd, { env }));

      expect(result.error).toBeUndefined();
      expect(result.summary).toBe('Done. I used [REDACTED] and [REDACTED].');
      expectNoSecret(readFileSync(result.log, 'utf-8'));
      expectNoSecret(readFileSync(join(ws.root, '.fanout/sessions/orders/result.json'), 'utf-8'));
    });
  });
});
