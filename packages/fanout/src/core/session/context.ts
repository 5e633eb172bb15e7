import { createHash } from 'crypto';
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { AgentAdapter } from '../agents/agent';
import { writeCachePrefixFiles, type CachePrefixFiles } from '../agents/cache-prefix';
import { checkAgentOptions, type AgentOptions } from '../agents/agent-options';
import { resolveAgent } from '../agents/registry';
import type { Subjects } from '../naming/subject';
import { resolveSubjects } from '../naming/substitution';
import { taskPlaceholder } from './assignment';
import { assemblePrompt } from './prompt';
import type { SessionRecorder } from './recorder';
import { workspaceScope } from './scope';
import type { SessionSpec } from './session-spec';
import { ASSIGNMENT_FILE } from '../../constants';
import { sandboxAvailabilityHere } from '../sandbox/availability';
import { SessionSandbox } from '../sandbox/session-sandbox';
import { sandboxDecision, sessionSandboxSetting } from '../sandbox/settings';

/** What the session may write and must leave alone, workspace-relative. */
interface SessionScope {
  /** The task's scope: all it may write. */
  roots: string[];
  /** What no session may write: the contracts, the reference, the task's assignment. */
  readOnly: string[];
  /** The wired files (outside the scope) it may edit, and the project that owns each. */
  wiredOwners: ReadonlyMap<string, string>;
}

/** The task as the session reads it before any work: its scope, its subjects, and what fanout wrote in it before. */
export interface SessionTask {
  scope: SessionScope;
  /** One reading of what differs between the reference and the task, for the agent and the checks alike. */
  subjects: Subjects;
  /** Files fanout itself wrote in the project (path → sha256): only these may be replaced while uncommitted. */
  owned: Map<string, string>;
  /** A scope that already holds what an earlier session of the task landed may rightly be left as it is. */
  alreadyLanded: boolean;
}

/** The agent that runs, and what it runs with before its worktree exists. */
export interface SessionContext {
  agent: AgentAdapter;
  options: AgentOptions;
  /** The environment the agent runs with, before fanout's variables for the session. */
  baseEnv: NodeJS.ProcessEnv;
  /** The same prompt in two parts, for an agent that sends the base context apart (ahead of everything of this session's). */
  cachePrefix: CachePrefixFiles;
  /** Set when the agent runs sandboxed: the session's private folder, its policy and its denials. Closed when the session ends. */
  sandbox?: SessionSandbox;
}

/**
 * What fanout itself wrote in this project (path → sha256): the task generator's
 * placeholder and what landing wrote (`landed`). Only these may be replaced while
 * uncommitted; anything else dirty is the user's.
 */
function ownedFiles(project: string, projectRoot: string, landed: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([[`${projectRoot}/src/index.ts`, createHash('sha256').update(taskPlaceholder(project)).digest('hex')], ...landed]);
}

/** `landed`: what landing wrote in the project (ownedByFanout). */
export function readTask(spec: SessionSpec, landed: ReadonlyMap<string, string>): SessionTask {
  return {
    scope: {
      roots: workspaceScope(spec.projectRoot, spec.assignment.scope),
      // The assignment too: a session that rewrote it would steer its own next run.
      readOnly: [spec.contracts.root, spec.reference.root, ...workspaceScope(spec.projectRoot, [ASSIGNMENT_FILE])],
      wiredOwners: new Map((spec.wired ?? []).map((file) => [file.path, file.project])),
    },
    subjects: resolveSubjects(join(spec.workspaceRoot, spec.reference.root, 'src'), spec.reference, {
      project: spec.project,
      subject: spec.assignment.subject,
      entity: spec.assignment.entity,
    }),
    owned: ownedFiles(spec.project, spec.projectRoot, landed),
    alreadyLanded: landed.size > 0,
  };
}

/** The agent's options: checked against what it takes, with the run's --model for an agent that takes a model. */
function agentOptions(agent: AgentAdapter, spec: SessionSpec): AgentOptions {
  const options = checkAgentOptions(agent.name, agent.options, spec.agentOptions, `nx.json (fanout plugin options, agents.${agent.name})`);
  return spec.model && agent.options?.['model'] ? { ...options, model: spec.model } : options;
}

/**
 * The environment an agent runs with: the user's, minus the outer Nx task's (sandboxed: only what the
 * agent needs, see SessionSandbox.env), plus its options' env.
 */
function agentBaseEnv(
  spec: SessionSpec,
  agent: AgentAdapter,
  options: AgentOptions,
  sandbox: SessionSandbox | undefined,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(spec.env ?? process.env)) {
    if (!key.startsWith('NX_')) env[key] = value;
  }
  return { ...(sandbox ? sandbox.env(env, agent.sandbox) : env), ...options.env, NX_DAEMON: 'false' };
}

/**
 * The session's sandbox, or none: `off`, or `auto` where it cannot run (said once per process).
 * `on` where it cannot run throws, before any worktree exists.
 */
function openSandbox(spec: SessionSpec, recorder: SessionRecorder): SessionSandbox | undefined {
  const setting = spec.sandbox ?? sessionSandboxSetting({ assignment: spec.assignment.sandbox });
  const decision = sandboxDecision(setting.mode, spec.sandboxAvailability ?? sandboxAvailabilityHere);
  if (decision.warning) recorder.sayOncePerProcess(decision.warning);
  if (!decision.on) {
    recorder.sandbox({ on: false, mode: setting.mode });
    return undefined;
  }
  return SessionSandbox.open(setting);
}

/**
 * Resolves the agent and checks its options, then writes the prompt (whole, and in
 * its two parts) in the session folder. A CLI that is not installed fails here,
 * before a worktree exists.
 */
export function prepareContext(spec: SessionSpec, task: SessionTask, recorder: SessionRecorder): SessionContext {
  const agent = resolveAgent(spec.agent ?? spec.assignment.agent, `${spec.projectRoot}/fanout.md`);
  const options = agentOptions(agent, spec);
  // Secrets set in the agent's options are redacted too, from here on (log and result.json).
  if (options.env) recorder.addSecrets(options.env);
  const sandbox = openSandbox(spec, recorder);
  try {
    return { agent, options, ...writePrompt(spec, task, recorder, agent, options, sandbox), sandbox };
  } catch (error) {
    sandbox?.close();
    throw error;
  }
}

function writePrompt(
  spec: SessionSpec,
  task: SessionTask,
  recorder: SessionRecorder,
  agent: AgentAdapter,
  options: AgentOptions,
  sandbox: SessionSandbox | undefined,
): Pick<SessionContext, 'baseEnv' | 'cachePrefix'> {
  const baseEnv = agentBaseEnv(spec, agent, options, sandbox);
  agent.preflight?.({ workspaceRoot: spec.workspaceRoot, env: baseEnv, options });
  const { prompt, assignment } = assemblePrompt(spec.base, {
    wired: (spec.wired ?? []).map((file) => ({ path: file.path, content: readFileSync(join(spec.workspaceRoot, file.path), 'utf-8') })),
    project: spec.project,
    projectRoot: spec.projectRoot,
    scope: spec.assignment.scope,
    text: spec.assignment.text,
    subjects: task.subjects,
  });
  writeFileSync(recorder.promptFile, prompt);
  const cachePrefix = writeCachePrefixFiles(recorder.dir, spec.base.base, assignment);
  recorder.say(`base context ${spec.base.baseHash.slice(0, 12)} (sha256), prompt ${recorder.promptFile}`);
  recorder.time('contextMs');
  return { baseEnv, cachePrefix };
}
