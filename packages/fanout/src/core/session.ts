import { createHash } from 'crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { AgentReport } from './agents/agent';
import { resolveAgent } from './agents/registry';
import { taskPlaceholder, type Assignment } from './assignment';
import { assemblePrompt, type assembleBase } from './context';
import { git } from './git';
import { applyChanges, checkIntegration, IntegrationRefused } from './integrate';
import { withLock } from './lock';
import { createRedactor } from './redact';
import { formatFinding, type Finding } from './checks/check';
import { runChecks, type CheckSettings } from './checks/registry';
import { judgeScope, type FileChange } from './scope';
import { createWorktree, FANOUT_DIR, lockPath, removeWorktree, sessionChanges, type Worktree } from './worktree';

export interface SessionSpec {
  workspaceRoot: string;
  project: string;
  projectRoot: string;
  assignment: Assignment;
  /** --agent / --command from the run override the front matter. */
  agent?: string;
  command?: string;
  contracts: { project: string; root: string; importPath: string };
  reference: { project: string; root: string };
  base: ReturnType<typeof assembleBase>;
  copyFiles: readonly string[];
  portBase: number;
  echo: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  /** Severities of the per-session checks (plugin options). */
  checks?: CheckSettings;
}

export interface SessionResult {
  project: string;
  status: 'succeeded' | 'failed';
  agent: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  baseCommit: string;
  baseContextHash: string;
  /** Files integrated into the workspace, with the sha256 of what was written. */
  files: (FileChange & { sha256?: string })[];
  /** Changes the scope check rejected. */
  rejected: (FileChange & { reason: 'outside-scope' | 'read-only' })[];
  checks: { name: string; ok: boolean; message?: string }[];
  /** What the per-session checks found (contract conformance, naming parity). */
  findings: Finding[];
  error?: string;
  /** Kept on failure, for inspection. */
  worktree?: string;
  log: string;
  promptFile: string;
  summary?: string;
  costUsd?: number;
  tokens?: AgentReport['tokens'];
  sessionId?: string;
}

export function sessionDir(workspaceRoot: string, project: string): string {
  return join(workspaceRoot, FANOUT_DIR, 'sessions', project);
}

/**
 * What fanout itself wrote in this project (path → sha256): the task generator's
 * placeholder, and the files of the previous session (from its result.json).
 * Only these may be replaced while uncommitted; anything else dirty is the user's.
 */
function ownedFiles(resultFile: string, project: string, projectRoot: string): Map<string, string> {
  const owned = new Map([
    [`${projectRoot}/src/index.ts`, createHash('sha256').update(taskPlaceholder(project)).digest('hex')],
  ]);
  if (!existsSync(resultFile)) return owned;
  try {
    const previous = JSON.parse(readFileSync(resultFile, 'utf-8')) as SessionResult;
    for (const file of previous.files) if (file.sha256) owned.set(file.path, file.sha256);
  } catch {
    // An unreadable result owns nothing.
  }
  return owned;
}

/** The environment an agent runs with: the user's, minus the outer Nx task's, plus fanout's. */
function agentEnv(spec: SessionSpec, worktree: Worktree, promptFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(spec.env ?? process.env)) {
    if (!key.startsWith('NX_')) env[key] = value;
  }
  return {
    ...env,
    NX_DAEMON: 'false',
    FANOUT_PROMPT_FILE: promptFile,
    FANOUT_PROJECT: spec.project,
    FANOUT_PROJECT_ROOT: spec.projectRoot,
    FANOUT_WORKTREE: worktree.path,
    FANOUT_PORT_BASE: String(spec.portBase),
  };
}

/**
 * One task, start to end: a worktree, the prompt, the agent, the scope check,
 * integration into the workspace, result.json. Never throws for a failure of
 * the session itself: it is recorded in the result.
 */
export async function runSession(spec: SessionSpec): Promise<SessionResult> {
  const started = new Date();
  const dir = sessionDir(spec.workspaceRoot, spec.project);
  const resultFile = join(dir, 'result.json');
  const owned = ownedFiles(resultFile, spec.project, spec.projectRoot);
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'session.log');
  const promptFile = join(dir, 'prompt.md');
  rmSync(resultFile, { force: true });
  writeFileSync(logFile, '');
  const say = (line: string) => {
    spec.log?.(line);
    writeFileSync(logFile, `[fanout] ${line}\n`, { flag: 'a' });
  };

  const agentName = spec.agent ?? spec.assignment.agent;
  const baseCommit = (await git(spec.workspaceRoot, ['rev-parse', '--verify', '-q', 'HEAD'], { allowFailure: true })).trim();
  if (!baseCommit) {
    throw new Error(
      `${spec.workspaceRoot} is not a git repository with a commit: sessions run in git worktrees made from HEAD. ` +
        'Run git init and commit, then run the tasks again.',
    );
  }
  const result: SessionResult = {
    project: spec.project,
    status: 'failed',
    agent: agentName,
    startedAt: started.toISOString(),
    endedAt: '',
    durationMs: 0,
    baseCommit,
    baseContextHash: spec.base.baseHash,
    files: [],
    rejected: [],
    checks: [],
    findings: [],
    log: logFile,
    promptFile,
  };
  const finish = (worktree?: Worktree) => {
    const ended = new Date();
    result.endedAt = ended.toISOString();
    result.durationMs = ended.getTime() - started.getTime();
    if (result.status === 'failed' && worktree) result.worktree = worktree.path;
    writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  };

  let worktree: Worktree | undefined;
  try {
    const agent = resolveAgent(agentName, `${spec.projectRoot}/fanout.md`);
    const { prompt } = assemblePrompt(spec.base, {
      project: spec.project,
      projectRoot: spec.projectRoot,
      scope: spec.assignment.scope,
      text: spec.assignment.text,
    });
    writeFileSync(promptFile, prompt);
    say(`base context ${spec.base.baseHash.slice(0, 12)} (sha256), prompt ${promptFile}`);

    worktree = await createWorktree(spec.workspaceRoot, spec.project, spec.copyFiles);
    say(`worktree ${worktree.path} on ${worktree.branch}, agent ${agent.name}, ports from ${spec.portBase}`);
    const env = agentEnv(spec, worktree, promptFile);
    const report = await agent.run({
      project: spec.project,
      projectRoot: spec.projectRoot,
      worktree: worktree.path,
      promptFile,
      logFile,
      entity: spec.assignment.entity,
      reference: spec.reference,
      contracts: spec.contracts,
      command: spec.command ?? spec.assignment.command,
      timeoutMs: spec.assignment.timeoutMs,
      env,
      echo: spec.echo,
      redact: createRedactor(env),
    });
    Object.assign(result, {
      summary: report.summary,
      costUsd: report.costUsd,
      tokens: report.tokens,
      sessionId: report.sessionId,
    });
    result.checks.push({ name: 'agent', ok: report.ok, message: report.error ?? report.summary });
    if (!report.ok) {
      result.error = `the agent failed: ${report.error}`;
      return finish(worktree);
    }

    const changes = await sessionChanges(spec.workspaceRoot, worktree);
    const scopeRoots = spec.assignment.scope.map((entry) => (entry === '.' ? spec.projectRoot : `${spec.projectRoot}/${entry}`));
    const verdict = judgeScope(changes, scopeRoots, [spec.contracts.root, spec.reference.root]);
    result.rejected = [
      ...verdict.outside.map((change) => ({ ...change, reason: 'outside-scope' as const })),
      ...verdict.readOnly.map((change) => ({ ...change, reason: 'read-only' as const })),
    ];
    if (result.rejected.length > 0) {
      const list = result.rejected.map((change) => `${change.path} (${change.status}, ${change.reason})`).join(', ');
      result.checks.push({ name: 'scope', ok: false, message: list });
      result.error =
        `the session changed files it may not write: ${list}. It may write only ${scopeRoots.join(', ')}; ` +
        `the contracts (${spec.contracts.root}) and the reference (${spec.reference.root}) are read-only. Nothing was integrated.`;
      return finish(worktree);
    }
    result.checks.push({ name: 'scope', ok: true, message: `${changes.length} file(s) inside ${scopeRoots.join(', ')}` });

    result.findings = runChecks(
      {
        root: worktree.path,
        project: spec.project,
        projectRoot: spec.projectRoot,
        files: verdict.accepted.filter((change) => change.status !== 'deleted').map((change) => change.path),
        contracts: spec.contracts,
        reference: spec.reference,
        entity: spec.assignment.entity,
      },
      spec.checks ?? {},
    );
    for (const finding of result.findings) say(formatFinding(finding));
    const errors = result.findings.filter((finding) => finding.severity === 'error');
    result.checks.push({
      name: 'findings',
      ok: errors.length === 0,
      message: `${errors.length} error(s), ${result.findings.length - errors.length} warning(s)`,
    });
    if (errors.length > 0) {
      result.error = `the session's code breaks the fan-out's rules; nothing was integrated:\n${errors.map((finding) => `  ${formatFinding(finding)}`).join('\n')}`;
      return finish(worktree);
    }

    const active = worktree;
    const written = await withLock(lockPath(spec.workspaceRoot), async () => {
      await checkIntegration(spec.workspaceRoot, active.path, verdict.accepted, owned);
      return applyChanges(spec.workspaceRoot, active.path, verdict.accepted);
    });
    result.files = verdict.accepted.map((change) => ({ ...change, sha256: written.get(change.path) }));
    result.checks.push({ name: 'integration', ok: true, message: `${result.files.length} file(s) integrated` });
    result.status = 'succeeded';
    await removeWorktree(spec.workspaceRoot, spec.project);
    return finish();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof IntegrationRefused) result.checks.push({ name: 'integration', ok: false, message });
    result.error = message;
    return finish(worktree);
  }
}
