import type { ExecutorContext } from '@nx/devkit';
import { existsSync, lstatSync } from 'fs';
import { join } from 'path';
import { checkAgentOptions } from '../../core/agents/agent-options';
import { resolveAgent } from '../../core/agents/registry';
import { readImportPaths } from '../../core/graph/import-paths';
import { resolveSubjects } from '../../core/naming/substitution';
import { sandboxAvailabilityHere } from '../../core/sandbox/availability';
import { isKeptState, SessionSandbox } from '../../core/sandbox/session-sandbox';
import { sandboxDecision, sessionSandboxSetting } from '../../core/sandbox/settings';
import { checkTargetList, resolveTaskProjects, resolveWiredFiles } from '../../core/session/assignment';
import { gateTargets } from '../../core/session/gate';
import type { SessionResult } from '../../core/session/result';
import { workspaceScope } from '../../core/session/scope';
import type { RepairableSession } from '../../core/verify/whole-repair';
import { readAssignment } from '../run/run-plan';
import { runSettings } from '../run/normalize';
import { ASSIGNMENT_FILE, recordedSubject, sessionDir, type FanoutPluginOptions } from '../../constants';

/** Why the session's conversation cannot be continued here, or undefined when it can. */
function noConversation(result: SessionResult): string | undefined {
  if (!result.sessionId) return 'its agent reported no conversation to continue';
  if (result.landing && !result.landing.ranNow) return "the session was replayed from Nx's cache: its conversation is not on this machine";
  if (result.sandbox?.on && !keptConversation(result))
    return "its conversation was in the sandbox's private folder, and is no longer kept (fanout-verify or a later session of the task removed it)";
  return undefined;
}

/** The CLI state the sandboxed session kept for its repairs (SessionSandbox.keepState), when it is still here. */
function keptConversation(result: SessionResult): string | undefined {
  const kept = result.sandbox?.keptState;
  return kept !== undefined && isKeptState(kept) && existsSync(join(kept, 'state')) ? kept : undefined;
}

/**
 * A session of the run as its repair of the whole needs it, read from the task's
 * fanout.md, the plugin options and its result.json; or why it cannot repair. The
 * sandboxes opened are handed to `opened`, for the caller to close.
 */
export function repairableSession(
  context: ExecutorContext,
  plugin: FanoutPluginOptions,
  result: SessionResult,
  tasks: ReadonlySet<string>,
  ignoredTargets: readonly string[],
  opened: SessionSandbox[],
): RepairableSession | string {
  const project = result.project;
  const node = context.projectGraph.nodes[project];
  if (!node) return `${project} is no longer a project of this workspace`;
  const projectRoot = node.data.root;
  const file = `${projectRoot}/${ASSIGNMENT_FILE}`;
  try {
    const assignment = readAssignment(context.root, projectRoot);
    const agent = resolveAgent(result.agent, file);
    if (!agent.repair) return `its agent (${agent.name}) takes no repair rounds: whom the failure is blamed on is reported only`;
    const roots = new Map(Object.values(context.projectGraph.nodes).map((entry) => [entry.name, entry.data.root]));
    const { contracts, reference } = resolveTaskProjects(assignment, { project, file }, roots, tasks);
    const importPath =
      readImportPaths(context.root, [{ name: contracts.project, root: contracts.root }])[0]?.importPaths[0] ?? contracts.project;
    const wired = resolveWiredFiles(
      assignment.wire ?? [],
      { project, file, root: projectRoot, scope: assignment.scope },
      roots,
      tasks,
      (path) => existsSync(join(context.root, path)) && lstatSync(join(context.root, path)).isFile(),
      [assignment.like, assignment.contracts],
    );
    const wanted = assignment.gate ?? plugin.gate;
    const list = wanted === undefined ? undefined : checkTargetList(wanted);
    if (typeof list === 'string') throw new Error(`${file}: gate ${list}`);
    const gate = gateTargets(
      Object.keys(node.data.targets ?? {}).filter((target) => !ignoredTargets.includes(target)),
      list,
    ).run;
    const settings = runSettings(plugin);
    const options = checkAgentOptions(
      agent.name,
      agent.options,
      plugin.agents?.[agent.name],
      `nx.json (fanout plugin options, agents.${agent.name})`,
    );
    const setting = sessionSandboxSetting({ assignment: assignment.sandbox, plugin: settings.sandbox });
    const why = noConversation(result);
    // The session's own CLI state, where it kept one: its conversation is resumed in this sandbox.
    const sandbox = sandboxDecision(setting.mode, sandboxAvailabilityHere).on
      ? SessionSandbox.open(setting, why ? undefined : keptConversation(result))
      : undefined;
    if (sandbox) opened.push(sandbox);
    const parent: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('NX_')) parent[key] = value;
    const env = { ...(sandbox ? sandbox.env(parent, agent.sandbox) : parent), ...options.env, NX_DAEMON: 'false' };
    return {
      project,
      projectRoot,
      record: result.id,
      sessionDir: sessionDir(context.root, project),
      agent,
      ...(result.model ? { model: result.model } : {}),
      options,
      command: assignment.command,
      subjects: resolveSubjects(
        join(context.root, reference.root, 'src'),
        { project: reference.project, subject: recordedSubject(context.projectGraph.nodes[reference.project]?.data) },
        { project, subject: assignment.subject, entity: assignment.entity },
      ),
      reference,
      contracts: { ...contracts, importPath },
      scope: workspaceScope(projectRoot, assignment.scope),
      readOnly: [contracts.root, reference.root, ...workspaceScope(projectRoot, [ASSIGNMENT_FILE])],
      wired,
      gate,
      checks: settings.checks,
      ...(why ? { noConversation: why } : { conversation: result.sessionId }),
      // Repairs count against the session's own timeout: what its session left of it.
      timeLeftMs: assignment.timeoutMs - result.durationMs,
      env,
      ...(sandbox ? { sandbox } : {}),
      portBase: settings.portBase,
    };
  } catch (error) {
    return `its task cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  }
}
