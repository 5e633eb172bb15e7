// Prompt cache: input tokens written to the provider's cache by N=4 Claude Code sessions of one
// `nx run-many -t fanout`, relative to one session alone. The real CLI (this repository's
// devDependency) runs as `agent: claude` in the task workspace, against a model server on 127.0.0.1
// that reports usage as a prefix cache does (e2e/fanout-e2e/src/prefix-cache.ts, compiled here with
// TypeScript): each session writes the Write call for one file, then ends.
// Measured twice: as fanout runs sessions by default (the base context in the system prompt, a lead
// session), and with `sharedPrefix: false` and `leadWait: 0` (the whole prompt in one message,
// every session at once), as every session did before.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { spawn } from 'node:child_process';
import { repo, workspaceEnv } from './plugin.mjs';
import { resetTaskWorkspace, TASKS } from './task-workspace.mjs';

const SESSIONS = 4;
const TARGET = 1.3;

/** The e2e suite's prefix-cache model, compiled to a module this script can import. */
async function loadPrefixCache(scratch) {
  const ts = createRequire(import.meta.url)('typescript');
  const source = readFileSync(join(repo, 'e2e', 'fanout-e2e', 'src', 'prefix-cache.ts'), 'utf-8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  });
  const file = join(scratch, 'prefix-cache.mjs');
  writeFileSync(file, outputText);
  return import(pathToFileURL(file).href);
}

/** A Messages API server: the first turn writes one file in the task's project, the next ends the session. */
async function startModelServer(PrefixCache) {
  const cache = new PrefixCache();
  let id = 0;
  const server = createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'POST' || !request.url.startsWith('/v1/messages') || request.url.startsWith('/v1/messages/count_tokens')) {
        response.writeHead(request.url.startsWith('/v1/messages/count_tokens') ? 200 : 404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ input_tokens: 1 }));
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf-8'));
      const { usage, write } = cache.request(body);
      const text = JSON.stringify(body);
      const last = body.messages.at(-1);
      const answered = Array.isArray(last?.content) && last.content.some((block) => block.type === 'tool_result');
      const cwd = /Primary working directory: ([^\\\n]+)/.exec(text)?.[1];
      const task = /# Your assignment: ([\w-]+) \(([^)]+)\)/.exec(text);
      const content = [];
      if (!answered && cwd && task) {
        content.push({
          type: 'tool_use',
          id: `toolu_bench_${++id}`,
          name: 'Write',
          input: { file_path: join(cwd, task[2], 'src', 'prompt-cache-note.ts'), content: `export const note = '${task[1]}';\n` },
        });
      } else content.push({ type: 'text', text: 'Done.' });
      const message = {
        id: `msg_bench_${++id}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: {
          input_tokens: usage.input,
          cache_creation_input_tokens: usage.cacheWrite,
          cache_read_input_tokens: usage.cacheRead,
          output_tokens: 1,
        },
      };
      write.begin();
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const send = (type, data) => response.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
      send('message_start', { message });
      content.forEach((block, index) => {
        send('content_block_start', { index, content_block: block.type === 'text' ? { type: 'text', text: '' } : { ...block, input: {} } });
        send(
          'content_block_delta',
          block.type === 'text'
            ? { index, delta: { type: 'text_delta', text: block.text } }
            : { index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } },
        );
        send('content_block_stop', { index });
      });
      send('message_delta', {
        delta: { stop_reason: content[0].type === 'tool_use' ? 'tool_use' : 'end_turn', stop_sequence: null },
        usage: { output_tokens: 10 },
      });
      send('message_stop', {});
      response.end();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stop: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

/** Sets the workspace's fanout plugin options `options` (over the current ones). */
function setPluginOptions(workspace, options) {
  const file = join(workspace, 'nx.json');
  const nxJson = JSON.parse(readFileSync(file, 'utf-8'));
  nxJson.plugins = nxJson.plugins.map((plugin) =>
    plugin.plugin === 'fanout' ? { ...plugin, options: { ...plugin.options, ...options } } : plugin,
  );
  writeFileSync(file, `${JSON.stringify(nxJson, null, 2)}\n`);
}

/** `nx <args>` in the workspace, without blocking this process: the model server answers from it meanwhile. */
function nxAsync(workspace, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(workspace, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args], {
      cwd: workspace,
      env: workspaceEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`nx ${args.join(' ')} failed with exit ${code}:\n${output.slice(-4000)}`)),
    );
  });
}

/** One run-many of `projects` with agent claude against a fresh cache; each session's result.json. */
async function runSessions(workspace, projects, PrefixCache, env) {
  const server = await startModelServer(PrefixCache);
  try {
    await nxAsync(
      workspace,
      [
        'run-many',
        '-t',
        'fanout',
        `--projects=${projects.join(',')}`,
        `--parallel=${projects.length}`,
        '--agent=claude',
        '--skip-nx-cache',
        '--output-style=static',
      ],
      { ...env, ANTHROPIC_BASE_URL: server.url },
    );
  } finally {
    await server.stop();
  }
  return projects.map((project) => {
    const result = JSON.parse(readFileSync(join(workspace, '.fanout', 'sessions', project, 'result.json'), 'utf-8'));
    if (result.status !== 'succeeded') throw new Error(`the ${project} session failed: ${result.error}`);
    return result;
  });
}

export async function benchPromptCache({ workspace, scratch }) {
  const { PrefixCache } = await loadPrefixCache(scratch);
  const config = mkdtempSync(join(tmpdir(), 'fanout-bench-claude-'));
  // Nothing of the machine's own Claude settings or keys; nothing but model requests.
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(ANTHROPIC_|CLAUDE_)/.test(key)));
  const claudeEnv = {
    ...env,
    PATH: `${join(repo, 'node_modules', '.bin')}${delimiter}${env.PATH ?? ''}`,
    ANTHROPIC_API_KEY: 'sk-ant-bench-not-a-key',
    CLAUDE_CONFIG_DIR: config,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
  };
  const projects = TASKS.slice(0, SESSIONS);
  const written = (results) => results.reduce((sum, result) => sum + (result.tokens?.cacheWrite ?? 0), 0);
  const read = (results) => results.reduce((sum, result) => sum + (result.tokens?.cacheRead ?? 0), 0);
  const input = (results) => results.reduce((sum, result) => sum + (result.tokens?.input ?? 0), 0);
  const measure = async (options) => {
    // The options as uncommitted changes of nx.json, set again after each reset.
    resetTaskWorkspace(workspace);
    setPluginOptions(workspace, options);
    const one = await runSessions(workspace, projects.slice(0, 1), PrefixCache, claudeEnv);
    resetTaskWorkspace(workspace);
    setPluginOptions(workspace, options);
    const all = await runSessions(workspace, projects, PrefixCache, claudeEnv);
    return {
      one: written(one),
      all: written(all),
      share: read(all) / input(all),
      base: readFileSync(join(workspace, '.fanout', 'sessions', projects[0], 'base.md'), 'utf-8').length,
    };
  };
  try {
    const shared = await measure({ leadWait: '60s', agents: { claude: {} } });
    const unshared = await measure({ leadWait: 0, agents: { claude: { sharedPrefix: false } } });
    const note = (run) =>
      `${run.all.toLocaleString('en-US')} tokens written by ${SESSIONS} sessions, ${run.one.toLocaleString('en-US')} by one; ${Math.round(run.share * 100)}% of the ${SESSIONS} sessions' input read from the cache`;
    return [
      {
        bench: 'prompt cache',
        figure: `input tokens written to the cache, N=${SESSIONS} sessions (the default: base context in the system prompt, a lead session)`,
        value: shared.all,
        unit: 'tokens',
        baseline: { label: 'one session', value: shared.one },
        target: { text: `≤ ${TARGET}×`, met: shared.all / shared.one <= TARGET },
        note: `real Claude Code ${JSON.parse(readFileSync(join(repo, 'node_modules', '@anthropic-ai', 'claude-code', 'package.json'), 'utf-8')).version}, a base context of ${shared.base.toLocaleString('en-US')} characters; ${note(shared)}`,
      },
      {
        bench: 'prompt cache',
        figure: `input tokens written to the cache, N=${SESSIONS} sessions, with sharedPrefix: false and leadWait: 0 (as before)`,
        value: unshared.all,
        unit: 'tokens',
        baseline: { label: 'one session', value: unshared.one },
        note: note(unshared),
      },
    ];
  } finally {
    resetTaskWorkspace(workspace);
    rmSync(config, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
  }
}
