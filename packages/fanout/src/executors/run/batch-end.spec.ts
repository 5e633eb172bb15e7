import { spawn } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/**
 * endWithResults, in a process of its own started as Nx starts a batch (its script named run-batch.js,
 * NX_FORKED_TASK_EXECUTOR=true, an IPC channel), with a timer that would keep it alive for a minute:
 * after endWithResults, its next message (Nx's results) reaches the parent whole, and the process ends
 * with code 0 on its own. Anywhere else it changes nothing.
 */
describe('endWithResults', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-batch-end-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs `script` (its name decides whether it looks like Nx's batch runner): its messages, exit code and output. */
  async function runChild(scriptName: string, env: Record<string, string>) {
    const script = join(dir, scriptName);
    writeFileSync(
      script,
      `const { endWithResults } = require(${JSON.stringify(join(__dirname, 'batch.ts'))});
const keepAlive = setTimeout(() => process.exit(7), 15_000);
const before = process.send;
endWithResults();
process.stdout.write('replaced ' + (process.send !== before) + '\\n');
process.send({ type: 'complete', results: { 'orders:fanout': { success: true } } }, () => {
  process.stdout.write('sent\\n');
  if (!process.env.EXPECT_EXIT) { clearTimeout(keepAlive); process.disconnect(); }
});
`,
    );
    const child = spawn(process.execPath, ['-r', '@swc-node/register', script], {
      cwd: join(__dirname, '..', '..', '..'),
      env: { ...process.env, SWC_NODE_PROJECT: join(__dirname, '..', '..', '..', 'tsconfig.spec.json'), ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const messages: unknown[] = [];
    let output = '';
    child.on('message', (message) => messages.push(message));
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
    return { code, messages, output };
  }

  it("in Nx's batch process: the results go out whole, then the process ends with code 0 though a timer would keep it", async () => {
    const { code, messages, output } = await runChild('run-batch.js', { NX_FORKED_TASK_EXECUTOR: 'true', EXPECT_EXIT: '1' });
    expect({ code, output }).toEqual({ code: 0, output: 'replaced true\nsent\n' });
    expect(messages).toEqual([{ type: 'complete', results: { 'orders:fanout': { success: true } } }]);
  }, 60_000);

  it('in any other process (not run-batch.js, or not forked by Nx) it changes nothing', async () => {
    for (const [name, env] of [
      ['other.js', { NX_FORKED_TASK_EXECUTOR: 'true' }],
      ['run-batch.js', { NX_FORKED_TASK_EXECUTOR: 'false' }],
    ] as const) {
      const { code, messages, output } = await runChild(name, env);
      expect({ name, code, output }).toEqual({ name, code: 0, output: 'replaced false\nsent\n' });
      expect(messages).toHaveLength(1);
    }
  }, 60_000);
});
