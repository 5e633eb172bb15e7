import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { readJsonFile, workspaceRoot } from '@nx/devkit';
import { runCommand } from './run-command';
import { e2eEnv, INSTALLING, type TestWorkspace } from './workspace';

/**
 * What the suites that run a real coding-agent CLI share: the CLI installed from the
 * npm registry, an environment that reaches nothing but the scripted model server,
 * and the tasks the sessions work on.
 */

/** The version this repository pins (root devDependencies): what the adapter's flags were checked against. */
export function pinnedVersion(packageName: string): string {
  const version = readJsonFile<{ devDependencies?: Record<string, string> }>(join(workspaceRoot, 'package.json')).devDependencies?.[
    packageName
  ];
  if (!version)
    throw new Error(`${packageName} is not in the root package.json's devDependencies: pin the version the adapter is checked against.`);
  return version;
}

/** A new temporary folder to install a CLI in; the suite removes it. */
export function cliPrefix(): string {
  return mkdtempSync(join(tmpdir(), 'fanout-e2e-cli-'));
}

/**
 * Installs `packageName@version` into `prefix` through the local registry (which
 * proxies the npm registry), and returns the folder of its executables.
 */
export async function installCli(prefix: string, packageName: string, version: string): Promise<string> {
  await runCommand('npm', ['install', '--prefix', prefix, '--no-audit', '--no-fund', `${packageName}@${version}`], {
    cwd: prefix,
    env: e2eEnv(),
    timeoutMs: INSTALLING,
  });
  return join(prefix, 'node_modules', '.bin');
}

/**
 * The environment of a run with a real agent: the workspace's, without the machine's
 * own provider settings and credentials, the CLI's bin folder first on PATH (before a
 * copy the outer npx may have put there), and `settings`.
 */
export function agentRunEnv(base: NodeJS.ProcessEnv, bin: string, settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(base)) {
    if (!/^(ANTHROPIC_|CLAUDE_|OPENAI_|CODEX_)/.test(key)) env[key] = value;
  }
  return { ...env, PATH: `${bin}${delimiter}${env.PATH ?? ''}`, ...settings };
}

/**
 * The environment of the real Claude Code CLI against a scripted model server at `url`: `apiKey` as
 * its key, its settings and transcripts in `configDir` (made here; none of the machine's read), and
 * nothing but model requests (no telemetry, error reports, update checks or other traffic).
 */
export function claudeCodeEnv(url: string, apiKey: string, configDir: string): Record<string, string> {
  mkdirSync(configDir, { recursive: true });
  return {
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: apiKey,
    CLAUDE_CONFIG_DIR: configDir,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_ERROR_REPORTING: '1',
    DISABLE_AUTOUPDATER: '1',
  };
}

/** A task and the contract type the scripted model's code for it uses (the ready workspace's entities). */
export interface AgentTask {
  name: string;
  type: string;
}

/** The gate of the agent CLI suites' sessions (the plugin option `gate`). */
export const AGENT_GATE = ['typecheck', 'lint'];

/**
 * Makes the tasks, run by `agent`, with one generator call (it installs packages:
 * minutes on a busy machine). Returns each task's root and the contracts' import path.
 */
export async function generateAgentTasks(
  ws: TestWorkspace,
  agent: string,
  tasks: readonly AgentTask[],
): Promise<{ roots: Record<string, string>; contractsImportPath: string }> {
  // The scripted model writes a source and no test, and jest fails a project with no tests:
  // these sessions' gate is the targets the model's code can fail, set by the plugin option.
  ws.setPluginOptions({ gate: AGENT_GATE });
  await ws.nx(
    [
      'g',
      'fanout:task',
      tasks.map((task) => task.name).join(','),
      '--like=users',
      `--agent=${agent}`,
      `--prompt=${assignmentText('<name>')}`,
      '--no-interactive',
    ],
    INSTALLING,
  );
  const projects = await ws.projectGraphNodes();
  const roots = Object.fromEntries(tasks.map(({ name }) => [name, projects[name]?.root ?? name]));
  for (const { name } of tasks) {
    if (!/^agent: \S+$/m.test(ws.readFile(`${roots[name]}/fanout.md`))) {
      throw new Error(`${roots[name]}/fanout.md names no agent`);
    }
  }
  const contractsImportPath = ws.readJson<{ name: string }>(`${projects.contracts?.root ?? 'contracts'}/package.json`).name;
  return { roots, contractsImportPath };
}

/** The assignment each task gets (fanout.md's text). */
export function assignmentText(task: string): string {
  return `Add a one-line summary of each ${task} record.`;
}

/** The file the scripted model writes for a task, workspace-relative. */
export function summaryPath(root: string, task: string): string {
  return `${root}/src/lib/${task}.summary.ts`;
}

/** What the scripted model writes: code that uses a contract type from the contracts' import path. */
export function summarySource(type: string, importPath: string): string {
  const variable = type.toLowerCase();
  return (
    `import type { ${type} } from '${importPath}';\n\n` +
    `/** One line per ${variable}, for logs. */\n` +
    `export function summarize${type}(${variable}: ${type}): string {\n` +
    `  return \`\${${variable}.id}: \${${variable}.name}\`;\n` +
    `}\n`
  );
}

/** The task whose assignment a model request carries (fanout's prompt names it in a heading). */
export function assignedTask<T extends AgentTask>(tasks: readonly T[], text: string): T | undefined {
  const name = /^# Your assignment: (\S+) \(/m.exec(text)?.[1];
  return tasks.find((task) => task.name === name);
}

/** What fanout's first repair message opens with. */
export const REPAIR_MESSAGE = 'Repair round 1: your work does not pass yet.';
/** The compiler's error for the first attempt of a task that needs a repair round. */
export const TYPE_ERROR = "error TS2322: Type 'string' is not assignable to type 'number'.";

/** The summary with one more constant, typed wrong in the first attempt (it does not compile) and right in the repair. */
export function repairedSource(type: string, importPath: string, fixed: boolean): string {
  // The fix drops the annotation too: the project's lint forbids one a literal already gives.
  const constant = fixed ? 'export const summaryWidth = 80;' : "export const summaryWidth: number = 'wide';";
  return `${summarySource(type, importPath)}\n/** Widest summary shown. */\n${constant}\n`;
}
