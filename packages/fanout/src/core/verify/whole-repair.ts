import { plainText } from '../system/plain-text';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { AgentAdapter, AgentReport, RepairRound } from '../agents/agent';
import type { AgentOptions } from '../agents/agent-options';
import { formatFinding } from '../checks/check';
import { runChecks, type CheckSettings } from '../checks/registry';
import { syntaxError } from '../landing/syntax';
import type { Subjects } from '../naming/subject';
import type { SessionSandbox } from '../sandbox/session-sandbox';
import { errorLines, FEEDBACK_CHARS } from '../session/feedback';
import { gateVerdict, runGate, type GateResult, type ProcessRunner } from '../session/gate';
import { judgeScope, type FileChange } from '../session/scope';
import { sessionChanges, worktreeGit, type Worktree } from '../session/worktree';
import type { WiredEdit } from '../session/wiring';
import { readWiredEdits } from '../session/wiring';
import { createRedactor } from '../system/redact';
import type { FailedTask } from './attribution';
import type { WholeRepair } from './repair-record';

/** A session of the run as a repair of the whole needs it: its task, its agent, its bounds. Built by the verify executor. */
export interface RepairableSession {
  project: string;
  projectRoot: string;
  /** Its record's id, and the folder that holds it (prompt.md, changes.diff). */
  record: string;
  sessionDir: string;
  agent: AgentAdapter;
  /** The model its session ran with, where it recorded one: what prices its repair under a budget. */
  model?: string;
  options: AgentOptions;
  command?: string;
  subjects: Subjects;
  reference: { project: string; root: string };
  contracts: { project: string; root: string; importPath: string };
  /** What it may write (workspace-relative roots), what no session may, and its wired files with their owners. */
  scope: readonly string[];
  readOnly: readonly string[];
  wired: readonly { path: string; project: string }[];
  /** Its own gate's targets. */
  gate: readonly string[];
  checks?: CheckSettings;
  /** The conversation to continue, when this machine has it (the session ran here, unsandboxed). */
  conversation?: string;
  /** Why its conversation cannot be continued, when it cannot: said in the fresh conversation's log. */
  noConversation?: string;
  /** The session's time left (its timeout less what it and its earlier repairs took). */
  timeLeftMs: number;
  /** The agent's environment (before fanout's variables) and its sandbox, when it runs sandboxed. */
  env: NodeJS.ProcessEnv;
  sandbox?: SessionSandbox;
  portBase: number;
}

export interface RepairAssignment {
  workspaceRoot: string;
  session: RepairableSession;
  worktree: Worktree;
  failure: FailedTask;
  /** Other sessions that touched the failed task's project or what it depends on, with their files. */
  others: readonly { session: string; files: readonly string[] }[];
  round: number;
  /** Where the repair's feedback, log and diff go. */
  dir: string;
  echo: boolean;
  /** Runs the gate's nx; injected by tests. */
  runGate?: ProcessRunner;
}

/** The repair's work when it passed its judging: what to land. */
export interface PassedRepair {
  accepted: FileChange[];
  wired: WiredEdit[];
}

/** Lines of the session's own diff a fresh conversation is given. */
const DIFF_CHARS = 8 * 1024;

/** Lines of a failed task's output quoted when no error line can be told apart in it. */
const TAIL_LINES = 60;

/** The end of a task's output, without Nx's own lines around it and without colours. */
function outputTail(output: string): string {
  return plainText(output)
    .split('\n')
    .filter((line) => !/^\s*(> nx run |NX\s{2,}|—+$)/.test(line))
    .join('\n')
    .trim()
    .split('\n')
    .slice(-TAIL_LINES)
    .join('\n');
}

/** The message the agent is given: the failure trimmed to its errors, who else touched the same files, and what to do. */
function wholeFeedback(assignment: Omit<RepairAssignment, 'worktree' | 'dir' | 'echo' | 'runGate'>, diff?: string): string {
  const { session, failure, others } = assignment;
  const id = `${failure.project}:${failure.target}`;
  // Its error lines where they can be told apart (compilers, linters, test runners' failures); else the end of its output.
  const errors = errorLines(failure.output).join('\n') || outputTail(failure.output);
  const budget = FEEDBACK_CHARS - (diff ? Math.min(diff.length, DIFF_CHARS) : 0) - 1500;
  const quoted = errors.length > budget ? `${errors.slice(0, budget)}\n… (cut: run nx run ${id} to see it all)` : errors;
  const parts = [
    `Verify round ${assignment.round}: every session of the run passed its own gate, but together they break ${id}. ` +
      `Your work is one of the causes: your worktree holds the whole integrated workspace (every session's work), as it fails.`,
    `nx run ${id} failed:\n${quoted || '(it printed nothing)'}`,
  ];
  if (others.length > 0) {
    parts.push(
      `Other sessions touched the same projects; leave their work alone:\n${others
        .map((other) => `- ${other.session}: ${other.files.slice(0, 5).join(', ')}${other.files.length > 5 ? ', …' : ''}`)
        .join('\n')}`,
    );
  }
  if (diff)
    parts.push(
      `What you landed (your earlier diff):\n\`\`\`diff\n${diff.slice(0, DIFF_CHARS)}${diff.length > DIFF_CHARS ? '\n… (cut)' : ''}\n\`\`\``,
    );
  const wired = session.wired.map((file) => file.path);
  parts.push(
    `Fix your own part only: change ${session.scope.join(', ')}${wired.length > 0 ? ` and your entries in ${wired.join(', ')}` : ''}, nothing else. ` +
      'Do not delete, skip or loosen a test, a lint rule or a type to make it pass. ' +
      `When you are done, these must pass: ${[...session.gate.map((target) => `nx run ${session.project}:${target}`), `nx run ${id}`].join(', ')}.`,
  );
  return parts.join('\n\n');
}

/** The agent's prompt file for the repair: the session's own, copied next to the repair's files (a restarted CLI writes beside it). */
function promptFor(session: RepairableSession, dir: string): string {
  const copy = join(dir, 'prompt.md');
  const original = join(session.sessionDir, 'prompt.md');
  if (existsSync(original)) copyFileSync(original, copy);
  else writeFileSync(copy, `# ${session.project}\n\nThe task's assignment is in ${session.projectRoot}/fanout.md.\n`);
  return copy;
}

/** Runs the session's agent in the integrated worktree, told what failed. */
async function runRepairAgent(assignment: RepairAssignment, entry: WholeRepair): Promise<AgentReport> {
  const { session, worktree, dir, workspaceRoot } = assignment;
  const resumes = session.agent.repair === 'resume' && session.conversation !== undefined;
  entry.mode = resumes ? 'resumed' : session.agent.repair === 'resume' ? 'fresh' : 'restarted';
  let diff: string | undefined;
  if (entry.mode === 'fresh' && existsSync(join(session.sessionDir, 'changes.diff')))
    diff = readFileSync(join(session.sessionDir, 'changes.diff'), 'utf-8');
  const message = wholeFeedback(assignment, diff);
  const file = join(dir, 'feedback.md');
  writeFileSync(file, message);
  entry.feedbackFile = file;
  const logFile = join(dir, 'agent.log');
  entry.log = logFile;
  const say = (line: string) => writeFileSync(logFile, `[fanout] ${line}\n`, { flag: 'a' });
  writeFileSync(logFile, '');
  if (entry.mode === 'fresh' && session.noConversation) say(`a new conversation: ${session.noConversation}`);
  const repair: RepairRound = { round: assignment.round, message, file, ...(resumes ? { sessionId: session.conversation } : {}) };
  const promptFile = promptFor(session, dir);
  const env: NodeJS.ProcessEnv = {
    ...session.env,
    FANOUT_PROMPT_FILE: promptFile,
    FANOUT_PROJECT: session.project,
    FANOUT_PROJECT_ROOT: session.projectRoot,
    FANOUT_WORKTREE: worktree.path,
    FANOUT_PORT_BASE: String(session.portBase),
    FANOUT_VERIFY_TASK: `${assignment.failure.project}:${assignment.failure.target}`,
  };
  const processSandbox = session.sandbox?.process({ worktree: worktree.path, checkout: workspaceRoot, env, needs: session.agent.sandbox });
  const started = Date.now();
  const report = await session.agent.run({
    project: session.project,
    projectRoot: session.projectRoot,
    workspaceRoot,
    worktree: worktree.path,
    promptFile,
    logFile,
    subjects: session.subjects,
    reference: session.reference,
    contracts: session.contracts,
    command: session.command,
    options: session.options,
    timeoutMs: Math.max(1, session.timeLeftMs),
    env,
    echo: assignment.echo,
    redact: createRedactor(env),
    repair,
    ...(session.wired.length > 0 ? { wired: session.wired.map((wired) => wired.path) } : {}),
    ...(processSandbox && session.sandbox ? { sandbox: { ...processSandbox, privateTemp: session.sandbox.privateTemp } } : {}),
  });
  entry.agentMs = Date.now() - started;
  if (report.costUsd !== undefined) entry.costUsd = report.costUsd;
  if (report.tokens) entry.tokens = report.tokens;
  return report;
}

/** The gate's targets' outcomes as the record keeps them. */
function gateEntries(outcome: GateResult, own: boolean): NonNullable<WholeRepair['gate']> {
  return outcome.targets.map((target) => ({
    target: own ? target.target : `${outcome.project}:${target.target}`,
    ok: target.ok,
    durationMs: target.durationMs,
  }));
}

/**
 * One session's repair of the whole: its agent, resumed in its conversation (or
 * started again with the feedback) in the integrated worktree; then its changes
 * judged as any session's are: its scope and wired files only, the per-session
 * checks, wired files that still parse, and its gate: its own targets, then the
 * failed task. `entry` records what happened; the work to land when all passed.
 */
export async function repairSession(assignment: RepairAssignment, entry: WholeRepair): Promise<PassedRepair | undefined> {
  const { session, worktree, workspaceRoot } = assignment;
  mkdirSync(assignment.dir, { recursive: true });
  const started = Date.now();
  const report = await runRepairAgent(assignment, entry);
  if (!report.ok) {
    entry.outcome = 'agent-failed';
    entry.message = report.error ?? 'the agent failed';
    return undefined;
  }
  const changes = await sessionChanges(workspaceRoot, worktree);
  const verdict = judgeScope(
    changes,
    session.scope,
    session.readOnly,
    session.wired.map((file) => file.path),
  );
  const wiredPaths = new Set(verdict.wired.map((change) => change.path));
  entry.files = changes.map((change) => ({ ...change, ...(wiredPaths.has(change.path) ? { wired: true } : {}) }));
  if (changes.length > 0) {
    const diffFile = join(assignment.dir, 'changes.diff');
    writeFileSync(diffFile, await worktreeGit(worktree, ['diff', '--cached', '--no-color', '--no-renames', worktree.baseline]));
    entry.diffFile = diffFile;
  }
  const refused = [...verdict.outside, ...verdict.readOnly];
  if (refused.length > 0) {
    entry.outcome = 'refused';
    entry.message =
      `it changed files outside its scope and wired files: ${refused.map((change) => change.path).join(', ')}; ` +
      `it may write only ${[...session.scope, ...session.wired.map((file) => file.path)].join(', ')}. Nothing of it landed.`;
    return undefined;
  }
  if (changes.length === 0) {
    entry.outcome = 'no-change';
    entry.message = 'the agent changed nothing';
    return undefined;
  }
  const findings = runChecks(
    {
      root: worktree.path,
      project: session.project,
      projectRoot: session.projectRoot,
      files: verdict.accepted.filter((change) => change.status !== 'deleted').map((change) => change.path),
      contracts: session.contracts,
      reference: session.reference,
      subjects: session.subjects,
    },
    session.checks ?? {},
  ).filter((finding) => finding.severity === 'error');
  for (const change of verdict.wired) {
    const broken = syntaxError(change.path, readFileSync(join(worktree.path, change.path), 'utf-8'));
    if (broken)
      findings.push({ check: 'wired-syntax', severity: 'error', file: change.path, line: 0, message: broken, fix: 'Fix the syntax.' });
  }
  if (findings.length > 0) {
    entry.outcome = 'refused';
    entry.message = `its repair breaks the fan-out's checks: ${findings.map(formatFinding).join('; ')}. Nothing of it landed.`;
    return undefined;
  }
  entry.gate = [];
  const gates = [
    { project: session.project, targets: session.gate, own: true },
    { project: assignment.failure.project, targets: [assignment.failure.target], own: false },
  ].filter((gate) => gate.targets.length > 0);
  for (const gate of gates) {
    const left = session.timeLeftMs - (Date.now() - started);
    const outcome = await runGate({
      worktree: worktree.path,
      workspaceRoot,
      project: gate.project,
      targets: gate.targets,
      env: session.env,
      timeoutMs: Math.max(1, left),
      logFile: entry.log ?? join(assignment.dir, 'agent.log'),
      echo: assignment.echo,
      redact: (text) => text,
      ...(assignment.runGate ? { run: assignment.runGate } : {}),
    });
    entry.gate.push(...gateEntries(outcome, gate.own));
    if (!outcome.ok) {
      entry.outcome = 'gate-failed';
      entry.message = `its repair does not pass ${outcome.targets
        .filter((target) => !target.ok)
        .map((target) => `${gate.project}:${target.target} (${gateVerdict(target, gate.project)})`)
        .join(', ')}. Nothing of it landed.`;
      return undefined;
    }
  }
  const wired = await readWiredEdits(
    worktree,
    verdict.wired.map((change) => ({ path: change.path, project: session.wired.find((file) => file.path === change.path)?.project ?? '' })),
  );
  return { accepted: verdict.accepted, wired };
}
