import { createHash } from 'crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { AgentAdapter, AgentTokens, RepairRound } from '../agents/agent';
import { checkAgentOptions, type AgentOptions } from '../agents/agent-options';
import { resolveAgent } from '../agents/registry';
import { DEFAULT_REPAIRS, taskPlaceholder, type Assignment } from './assignment';
import { gateVerdict, runGate, type ProcessRunner } from './gate';
import { feedbackMessage, type FeedbackInput } from './feedback';
import { assemblePrompt, type assembleBase } from './prompt';
import { takeLeadTurn, type LeadTurn } from './lead';
import { headCommit } from '../system/git';
import { refuseUsersWorkInScope, IntegrationRefused, recoverUnfinished } from './integrate';
import { markRanNow, ownedByFanout } from '../landing/landed';
import { recordedFilesDir, recordSessionFiles } from '../landing/record';
import { syntaxError } from '../landing/syntax';
import { randomUUID } from 'crypto';
import { resolveSubjects } from '../naming/substitution';
import { assertSessionName } from '../naming/names';
import { createRedactor, redactDeep } from '../system/redact';
import { formatFinding, type CheckInput } from '../checks/check';
import { runChecks, warmChecks, type CheckSettings } from '../checks/registry';
import { judgeScope, workspaceScope, type FileChange } from './scope';
import { readWiredEdits, wiredEditsFile, writeWiredEdits } from './wiring';
import type { WiredFile } from './assignment';
import type { SparseCheckout } from './sparse-checkout';
import { createWorktree, removeWorktree, sessionChanges, type Worktree } from './worktree';
import { beginSetup, whenSetupsEnd } from './setting-up';
import { DIFF_FILE, recordSessionDiff } from './session-diff';
import { RESULT_VERSION, type SessionResult, type SessionRound, type SessionTimings } from './result';
import { ASSIGNMENT_FILE, FANOUT_DIR, sessionDir } from '../../constants';

export { sessionDir };

export interface SessionSpec {
  workspaceRoot: string;
  project: string;
  projectRoot: string;
  assignment: Assignment;
  /** --agent / --command from the run override the front matter. */
  agent?: string;
  command?: string;
  /** The options of the agent that runs (plugin options `agents.<name>`), checked against what the agent takes. */
  agentOptions?: unknown;
  /** --model from the run, over the agent's own model option (for agents that take a model). */
  model?: string;
  /** How long to wait before the agent starts, so that a run's sessions do not reach the provider at the same instant. */
  startDelayMs?: number;
  /** How the session waits; injected by tests. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The run's lead session (lead.ts): for an agent whose sessions share one prompt
   * prefix, the first session to reach its agent starts at once, and the others wait
   * for its model's first response, at most waitMs. Absent or waitMs 0: no waiting.
   */
  lead?: { run: string; waitMs: number; dir?: string };
  contracts: { project: string; root: string; importPath: string };
  /** The reference; `subject` as recorded by `nx g fanout:reference` (its `fanout:subject:<word>` tag), when it was. */
  reference: { project: string; root: string; subject?: string };
  base: ReturnType<typeof assembleBase>;
  copyFiles: readonly string[];
  /** Projects to keep in and leave out of the worktree; absent, the worktree holds the whole workspace. */
  sparse?: SparseCheckout;
  portBase: number;
  echo: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * Takes the clean-up after a session that landed (git forgetting its worktree and
   * branch, the folder deleted) to run after the session: a batch, which waits for
   * it before it ends. Absent, the session does it before it returns.
   */
  cleanUpLater?: (work: () => Promise<void>) => void;
  log?: (line: string) => void;
  /** Severities of the per-session checks (plugin options). */
  checks?: CheckSettings;
  /** What the run knows of the other sessions: projects to resolve imports, forbidden imports, ports. */
  run?: Pick<CheckInput, 'projects' | 'forbidden' | 'ports'>;
  /** The project's targets that must pass in the worktree before it lands; absent: no gate. */
  gate?: SessionGate;
  /** Repair rounds the agent gets (DEFAULT_REPAIRS when absent); agents that cannot repair get none. */
  repairs?: number;
  /** The task's wired files (resolveWiredFiles): it may edit them, and its edits are merged three-way when it lands. */
  wired?: readonly WiredFile[];
  /**
   * The gate of each project that owns a wired file (its typecheck), run in the worktree
   * after the task's own when the session edited one of its wired files.
   */
  wiredGate?: readonly { project: string; targets: string[] }[];
  /** Runs the gate's nx; injected by tests. */
  runGate?: ProcessRunner;
}

/** A session's gate: the targets it runs (gateTargets()), and those asked for that the project lacks. */
export interface SessionGate {
  run: string[];
  missing: string[];
}

/** What failed in a round. */
interface RoundProblem {
  kind: 'scope' | 'checks' | 'gate';
  /** A few words for the log. */
  summary: string;
  /** The session's error, if no round is left: one sentence... */
  error: string;
  /** ...and the lines under it. */
  detail?: string;
  feedback: Omit<FeedbackInput, 'round'>;
}

/** Lines of the failing gate target's output quoted in the session's error (result.json holds more, the log all). */
const GATE_ERROR_LINES = 30;

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

function addUp(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

/** Tokens over rounds: each kind summed where any round reported it. */
function addTokens(a: AgentTokens | undefined, b: AgentTokens | undefined): AgentTokens | undefined {
  if (!a || !b) return a ?? b;
  const sum: AgentTokens = {};
  for (const key of ['input', 'output', 'cacheRead', 'cacheWrite'] as const) {
    const value = addUp(a[key], b[key]);
    if (value !== undefined) sum[key] = value;
  }
  return sum;
}

/** Takes the session's turn in its run (the lead, or a wait for it), and says what came of it in the log. */
async function leadTurn(spec: SessionSpec, lead: NonNullable<SessionSpec['lead']>, say: (line: string) => void): Promise<LeadTurn> {
  const turn = await takeLeadTurn({
    dir: lead.dir ?? join(spec.workspaceRoot, FANOUT_DIR, 'lead'),
    run: lead.run,
    project: spec.project,
    waitMs: lead.waitMs,
    ...(spec.sleep ? { sleep: spec.sleep } : {}),
  });
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (turn.role === 'lead') say(`this session leads the run: the others start when its model's first response has begun`);
  else if (turn.role === 'alone') say(`the agent starts at once, without a lead session: ${turn.note}`);
  else if (turn.outcome === 'response')
    say(`waited ${seconds(turn.waitedMs)} for the lead session (${turn.lead}): its model's response has begun`);
  else if (turn.outcome === 'ended')
    say(`waited ${seconds(turn.waitedMs)} for the lead session (${turn.lead}): it ended before a response began`);
  else say(`waited ${seconds(turn.waitedMs)} for the lead session (${turn.lead}), the most it waits (leadWait); starting now`);
  return turn;
}

/** Notes a process prints once on the terminal, however many of its sessions meet them. */
const saidOnce = new Set<string>();

/** Each call returns the milliseconds since the previous one (or since the clock was made). */
function phaseClock(): () => number {
  let last = performance.now();
  return () => {
    const now = performance.now();
    const elapsed = Math.round(now - last);
    last = now;
    return elapsed;
  };
}

/** `--fresh`: forgets earlier sessions of a task: its kept worktree and branch, its prompt, log and result. */
export async function discardSession(workspaceRoot: string, project: string): Promise<void> {
  await removeWorktree(workspaceRoot, project);
  rmSync(sessionDir(workspaceRoot, project), { recursive: true, force: true });
}

/**
 * What fanout itself wrote in this project (path → sha256): the task generator's
 * placeholder and what landing wrote (`landed`). Only these may be replaced while
 * uncommitted; anything else dirty is the user's.
 */
function ownedFiles(project: string, projectRoot: string, landed: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([[`${projectRoot}/src/index.ts`, createHash('sha256').update(taskPlaceholder(project)).digest('hex')], ...landed]);
}

/** Lines of the agent's output in the session log that report an error or a refusal: the last few. */
function reportedErrors(logFile: string): string[] {
  let log = '';
  try {
    log = readFileSync(logFile, 'utf-8');
  } catch {
    return [];
  }
  return log
    .split('\n')
    .filter((line) => !line.startsWith('[fanout]') && /\b(error|denied|refused|failed|read-only|permission)\b/i.test(line))
    .map((line) => line.trim().slice(0, 300))
    .slice(-5);
}

/** The agent's options: checked against what it takes, with the run's --model for an agent that takes a model. */
function agentOptions(agent: AgentAdapter, spec: SessionSpec): AgentOptions {
  const options = checkAgentOptions(agent.name, agent.options, spec.agentOptions, `nx.json (fanout plugin options, agents.${agent.name})`);
  return spec.model && agent.options?.['model'] ? { ...options, model: spec.model } : options;
}

/** The environment an agent runs with: the user's, minus the outer Nx task's, plus its options' env. */
function agentBaseEnv(spec: SessionSpec, options: AgentOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(spec.env ?? process.env)) {
    if (!key.startsWith('NX_')) env[key] = value;
  }
  return { ...env, ...options.env, NX_DAEMON: 'false' };
}

/** ...plus fanout's variables for the session. */
function agentEnv(spec: SessionSpec, baseEnv: NodeJS.ProcessEnv, worktree: Worktree, promptFile: string): NodeJS.ProcessEnv {
  return {
    ...baseEnv,
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
  assertSessionName(spec.project);
  const started = new Date();
  const lap = phaseClock();
  const timings: SessionTimings = { contextMs: 0, worktreeMs: 0, agentMs: 0, checksMs: 0, integrateMs: 0 };
  const dir = sessionDir(spec.workspaceRoot, spec.project);
  const resultFile = join(dir, 'result.json');
  const landedHere = ownedByFanout(spec.workspaceRoot, spec.project);
  const owned = ownedFiles(spec.project, spec.projectRoot, landedHere);
  // A scope that already holds what an earlier session of the task landed may rightly be left as it is.
  const alreadyLanded = landedHere.size > 0;
  mkdirSync(dir, { recursive: true });
  const logFile = join(dir, 'session.log');
  const promptFile = join(dir, 'prompt.md');
  rmSync(resultFile, { force: true });
  rmSync(join(dir, DIFF_FILE), { force: true });
  // A record of an earlier session must never be taken for this one's.
  rmSync(wiredEditsFile(dir), { force: true });
  rmSync(recordedFilesDir(dir), { recursive: true, force: true });
  writeFileSync(logFile, '');
  // Built from the whole environment (NX_* included, which the agent does not get but could still read).
  let redact = createRedactor(spec.env ?? process.env);
  const say = (text: string) => {
    const line = redact(text);
    spec.log?.(line);
    writeFileSync(logFile, `[fanout] ${line}\n`, { flag: 'a' });
  };

  const agentName = spec.agent ?? spec.assignment.agent;
  const baseCommit = await headCommit(spec.workspaceRoot);
  if (!baseCommit) {
    throw new Error(
      `${spec.workspaceRoot} is not a git repository with a commit: sessions run in git worktrees made from HEAD. ` +
        'Run git init and commit, then run the tasks again.',
    );
  }
  const result: SessionResult = {
    version: RESULT_VERSION,
    id: randomUUID(),
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
    timings,
  };
  // The diff is for review only: a session whose diff cannot be recorded still stands, with the reason in its log.
  const recordDiff = async (active: Worktree, changes: readonly FileChange[], integrated: boolean) => {
    if (changes.length === 0) return undefined;
    try {
      const recorded = await recordSessionDiff({
        workspaceRoot: spec.workspaceRoot,
        sessionDir: dir,
        worktree: active,
        changes,
        integrated,
        redact,
      });
      result.diff = recorded.diff;
      return recorded.counts;
    } catch (error) {
      say(`could not record the session's diff in ${DIFF_FILE}: ${(error as Error).message}`);
      return undefined;
    }
  };
  // What the session changed, once known: a failed session keeps its worktree, and its diff helps to review it.
  let changed: FileChange[] | undefined;
  // The diff of what is being integrated, recorded while it integrates.
  let integratedDiff: ReturnType<typeof recordDiff> | undefined;
  const finish = async (worktree?: Worktree) => {
    endSetup();
    // Never two writers of changes.diff: a failed integration's diff is recorded again, as not integrated.
    await integratedDiff;
    if (result.status === 'failed' && worktree && changed) await recordDiff(worktree, changed, false);
    const ended = new Date();
    result.endedAt = ended.toISOString();
    result.durationMs = ended.getTime() - started.getTime();
    if (result.status === 'failed' && worktree) result.worktree = worktree.path;
    // What the agent said (summary, errors, file names) may hold a secret it read.
    const safe = redactDeep(result, redact);
    writeFileSync(resultFile, `${JSON.stringify(safe, null, 2)}\n`);
    return safe;
  };

  let worktree: Worktree | undefined;
  const scopeRoots = workspaceScope(spec.projectRoot, spec.assignment.scope);
  // The assignment too: a session that rewrote it would steer its own next run.
  const readOnlyRoots = [spec.contracts.root, spec.reference.root, ...workspaceScope(spec.projectRoot, [ASSIGNMENT_FILE])];
  // One reading of what differs between the reference and the task, for the agent and the checks alike.
  const subjects = resolveSubjects(join(spec.workspaceRoot, spec.reference.root, 'src'), spec.reference, {
    project: spec.project,
    subject: spec.assignment.subject,
    entity: spec.assignment.entity,
  });
  // Until its agent starts (or the session ends first), the checks' warm-up of every session of this process waits.
  const endSetup = beginSetup();
  try {
    const agent = resolveAgent(agentName, `${spec.projectRoot}/fanout.md`);
    const options = agentOptions(agent, spec);
    // Secrets set in the agent's options are redacted too, from here on (log and result.json).
    if (options.env) redact = createRedactor({ ...(spec.env ?? process.env), ...options.env });
    const baseEnv = agentBaseEnv(spec, options);
    // A CLI that is not installed fails here, before a worktree exists.
    agent.preflight?.({ workspaceRoot: spec.workspaceRoot, env: baseEnv, options });
    const { prompt, assignment } = assemblePrompt(spec.base, {
      wired: (spec.wired ?? []).map((file) => ({ path: file.path, content: readFileSync(join(spec.workspaceRoot, file.path), 'utf-8') })),
      project: spec.project,
      projectRoot: spec.projectRoot,
      scope: spec.assignment.scope,
      text: spec.assignment.text,
      subjects,
    });
    writeFileSync(promptFile, prompt);
    // The same prompt in two parts, for an agent that sends the base context apart (ahead of everything of this session's).
    const split = { baseFile: join(dir, 'base.md'), assignmentFile: join(dir, 'assignment.md') };
    writeFileSync(split.baseFile, spec.base.base);
    writeFileSync(split.assignmentFile, assignment);
    say(`base context ${spec.base.baseHash.slice(0, 12)} (sha256), prompt ${promptFile}`);
    timings.contextMs = lap();

    for (const project of await recoverUnfinished(spec.workspaceRoot))
      say(`undid the unfinished integration of ${project} that a killed run left`);
    // Refused, before anything is made, while uncommitted changes of the user's lie inside the scope.
    worktree = await createWorktree(spec.workspaceRoot, spec.project, spec.copyFiles, spec.sparse, {
      paths: scopeRoots,
      check: (dirty) => refuseUsersWorkInScope(spec.workspaceRoot, dirty, scopeRoots, readOnlyRoots, owned),
    });
    timings.worktreeMs = lap();
    say(
      `worktree ${worktree.path} on ${worktree.branch}${worktree.sparse ? ' (sparse: projects it does not need left out)' : ''}, ` +
        `agent ${agent.name}, ports from ${spec.portBase}`,
    );
    const env = agentEnv(spec, baseEnv, worktree, promptFile);
    if (spec.startDelayMs && spec.startDelayMs > 0) {
      endSetup();
      say(`the agent starts in ${(spec.startDelayMs / 1000).toFixed(1)} s (stagger)`);
      await (spec.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))))(spec.startDelayMs);
    }
    let leads = spec.lead && spec.lead.waitMs > 0 && agent.sharesPrefix?.(options);
    const blocker = leads ? agent.prefixBlocker?.({ workspaceRoot: spec.workspaceRoot, env: baseEnv, options }) : undefined;
    if (blocker) {
      // In every session's log, on the terminal once per process: every session of the run would say the same.
      writeFileSync(logFile, `[fanout] ${blocker}\n`, { flag: 'a' });
      if (!saidOnce.has(blocker)) spec.log?.(blocker);
      saidOnce.add(blocker);
      leads = false;
    }
    if (leads) endSetup();
    const turn = leads && spec.lead ? await leadTurn(spec, spec.lead, say) : undefined;
    if (turn?.role === 'lead') result.lead = { role: 'lead' };
    else if (turn?.role === 'follower') result.lead = { role: 'follower', lead: turn.lead, waitedMs: turn.waitedMs, outcome: turn.outcome };
    timings.waitMs = lap();
    const gate = spec.gate ?? { run: [], missing: [] };
    if (gate.missing.length > 0)
      say(`gate: ${spec.project} has no target ${gate.missing.join(', ')}; it runs ${gate.run.join(', ') || 'nothing'}`);
    const repairs = agent.repair ? (spec.repairs ?? spec.assignment.repairs ?? DEFAULT_REPAIRS) : 0;
    // The session's time starts with its agent; every round, and every gate, counts against it.
    const deadline = Date.now() + spec.assignment.timeoutMs;
    const rounds: SessionRound[] = [];
    result.rounds = rounds;
    let repair: RepairRound | undefined;
    let accepted: FileChange[] = [];
    /**
     * Judges what the agent left in the worktree after a round: the scope, the
     * static checks, then the gate. Undefined when it may land; else what failed,
     * for the error and the next round's feedback. Each stage runs only when the
     * one before passed: a gate over files outside the scope would be wasted.
     */
    let lastVerdict: ReturnType<typeof judgeScope> | undefined;
    const projectOf = new Map((spec.wired ?? []).map((file) => [file.path, file.project]));
    const judgeRound = async (active: Worktree, round: number): Promise<RoundProblem | undefined> => {
      const entry = rounds[rounds.length - 1];
      const changes = await sessionChanges(spec.workspaceRoot, active);
      changed = changes;
      const verdict = judgeScope(
        changes,
        scopeRoots,
        readOnlyRoots,
        (spec.wired ?? []).map((file) => file.path),
      );
      lastVerdict = verdict;
      result.rejected = [
        ...verdict.outside.map((change) => ({ ...change, reason: 'outside-scope' as const })),
        ...verdict.readOnly.map((change) => ({ ...change, reason: 'read-only' as const })),
      ];
      const suffix = round > 0 ? ` (repair round ${round})` : '';
      if (result.rejected.length > 0) {
        const list = result.rejected.map((change) => `${change.path} (${change.status}, ${change.reason})`).join(', ');
        result.checks.push({ name: `scope${suffix}`, ok: false, message: list });
        timings.checksMs += lap();
        const rule =
          `It may write only ${scopeRoots.join(', ')}; the contracts (${spec.contracts.root}), the reference (${spec.reference.root}) ` +
          `and the assignment (${readOnlyRoots[2]}) are read-only.`;
        return {
          kind: 'scope',
          summary: `${result.rejected.length} file(s) outside the session's scope`,
          error: `the session changed files it may not write: ${list}. ${rule} Nothing was recorded`,
          feedback: { scope: `You changed files you may not write: ${list}. Undo those changes. ${rule}` },
        };
      }
      if (changes.length === 0 && !alreadyLanded) {
        // An agent that exits 0 having written nothing (a sandbox that silently refused its writes, say) has not done the task.
        const said = reportedErrors(logFile);
        result.checks.push({ name: `scope${suffix}`, ok: false, message: 'the agent made no change' });
        timings.checksMs += lap();
        return {
          kind: 'scope',
          summary: 'the agent made no change',
          error:
            `the agent made no change in ${scopeRoots.join(', ')}; nothing was recorded` +
            (said.length > 0 ? `. What it reported:\n${said.map((line) => `  ${line}`).join('\n')}` : ` (its output is in ${logFile})`),
          feedback: {
            scope: `You changed no file. Do the assignment: write the task's files in ${scopeRoots.join(', ')} (your working directory is the worktree).`,
          },
        };
      }
      result.checks.push({ name: `scope${suffix}`, ok: true, message: `${changes.length} file(s) inside ${scopeRoots.join(', ')}` });

      result.findings = runChecks(
        {
          root: active.path,
          project: spec.project,
          projectRoot: spec.projectRoot,
          files: verdict.accepted.filter((change) => change.status !== 'deleted').map((change) => change.path),
          contracts: spec.contracts,
          reference: spec.reference,
          subjects,
          ...spec.run,
        },
        spec.checks ?? {},
      );
      // A wired file is the app's, outside the session's project: one the session leaves unparsable never lands.
      for (const change of verdict.wired) {
        const broken = syntaxError(change.path, readFileSync(join(active.path, change.path), 'utf-8'));
        if (broken) {
          result.findings.push({
            check: 'wired-syntax',
            severity: 'error',
            file: change.path,
            line: Number(/:(\d+):\d+ /.exec(broken)?.[1] ?? 0),
            message: `the session's edit leaves this wired file unparsable: ${broken}`,
            fix: 'Fix the syntax of your edit of this file (a missing comma or bracket, most often), keeping the entries already there.',
          });
        }
      }
      for (const finding of result.findings) say(formatFinding(finding));
      const errors = result.findings.filter((finding) => finding.severity === 'error');
      result.checks.push({
        name: `findings${suffix}`,
        ok: errors.length === 0,
        message: `${errors.length} error(s), ${result.findings.length - errors.length} warning(s)`,
      });
      timings.checksMs += lap();
      if (errors.length > 0) {
        return {
          kind: 'checks',
          summary: `${errors.length} check error(s)`,
          error: `the session's code breaks the fan-out's rules; nothing was recorded`,
          detail: errors.map((finding) => `  ${formatFinding(finding)}`).join('\n'),
          feedback: { findings: errors },
        };
      }

      // The task's own targets, then those of each project whose wired file the session edited (its typecheck):
      // a wired edit that breaks the app fails here, with repair rounds, before anything lands.
      const editedOwners = new Set(verdict.wired.map((change) => projectOf.get(change.path)));
      const gates = [
        { project: spec.project, targets: gate.run },
        ...(spec.wiredGate ?? []).filter((owner) => editedOwners.has(owner.project)),
      ].filter((entry) => entry.targets.length > 0);
      for (const [index, current] of gates.entries()) {
        const outcome = await runGate({
          worktree: active.path,
          workspaceRoot: spec.workspaceRoot,
          project: current.project,
          targets: current.targets,
          env: spec.env ?? process.env,
          timeoutMs: Math.max(1, deadline - Date.now()),
          logFile,
          echo: spec.echo,
          redact,
          ...(spec.runGate ? { run: spec.runGate } : {}),
        });
        timings.gateMs = (timings.gateMs ?? 0) + lap();
        const own = index === 0 && current.project === spec.project;
        const label = (target: string) => (own ? target : `${current.project}:${target}`);
        if (own || !outcome.ok) result.gate = outcome;
        entry.gate.push(
          ...outcome.targets.map(({ target, ok, durationMs, exitCode, timedOut, cached, skipped }) => ({
            target: label(target),
            ok,
            durationMs,
            exitCode,
            ...(timedOut ? { timedOut } : {}),
            ...(cached ? { cached } : {}),
            ...(skipped ? { skipped } : {}),
          })),
        );
        const failed = outcome.targets.filter((target) => !target.ok);
        result.checks.push({
          name: `gate${own ? '' : ` (${current.project}, wired)`}${suffix}`,
          ok: outcome.ok,
          message: outcome.targets.map((target) => `${target.target} ${gateVerdict(target, current.project)}`).join(', '),
        });
        if (outcome.ok) continue;
        // The targets that ran and failed are named; those Nx did not run, with why.
        const ran = failed.filter((target) => !target.skipped);
        const names = (ran.length > 0 ? ran : failed).map((target) => `${current.project}:${target.target}`).join(', ');
        const notRun = failed
          .filter((target) => target.skipped)
          .map((target) => `${current.project}:${target.target} ${gateVerdict(target, current.project)}`);
        const last = ran.at(-1) ?? failed[failed.length - 1];
        return {
          kind: 'gate',
          summary: failed.map((target) => `${current.project}:${target.target} ${gateVerdict(target, current.project)}`).join(', '),
          error:
            `the session's work does not pass ${names} in its worktree` +
            `${notRun.length > 0 && ran.length > 0 ? ` (${notRun.join(', ')})` : ''}` +
            `${own ? '' : ` (a wired file of ${current.project} it edited)`}; nothing was recorded`,
          detail: `The end of ${current.project}:${last.target}'s output (all of it in the log):\n${indent(lastLines(last.output, GATE_ERROR_LINES))}`,
          feedback: { gate: outcome },
        };
      }
      return undefined;
    };

    for (let round = 0; ; round++) {
      const entry: SessionRound = { round, agentMs: 0, gate: [] };
      rounds.push(entry);
      const agentStarted = Date.now();
      const running = agent.run({
        project: spec.project,
        projectRoot: spec.projectRoot,
        workspaceRoot: spec.workspaceRoot,
        worktree: worktree.path,
        promptFile,
        logFile,
        subjects,
        reference: spec.reference,
        contracts: spec.contracts,
        command: spec.command ?? spec.assignment.command,
        options,
        timeoutMs: Math.max(1, deadline - Date.now()),
        env,
        echo: spec.echo,
        redact,
        ...(repair ? { repair } : {}),
        ...(spec.wired && spec.wired.length > 0 ? { wired: spec.wired.map((file) => file.path) } : {}),
        split,
        ...(turn?.role === 'lead' && round === 0 ? { onResponse: () => turn.ready('response') } : {}),
      });
      // While the agent works, the checks' compiler is loaded and the contracts parsed, so they start warm:
      // once no other session of this process is still setting up, for the load holds the process's thread.
      const { path: worktreeRoot } = worktree;
      endSetup();
      const cancelWarm = round === 0 ? whenSetupsEnd(() => warmChecks(worktreeRoot, spec.contracts.root, spec.checks ?? {})) : undefined;
      const report = await running.finally(() => {
        cancelWarm?.();
        // Whatever became of the lead's first round, the others need not wait for it any longer.
        if (turn?.role === 'lead') turn.ready('ended');
      });
      entry.agentMs = Date.now() - agentStarted;
      Object.assign(entry, {
        ok: report.ok,
        ...(report.costUsd !== undefined ? { costUsd: report.costUsd } : {}),
        ...(report.tokens ? { tokens: report.tokens } : {}),
        ...(report.attempts !== undefined ? { attempts: report.attempts } : {}),
      });
      Object.assign(result, {
        summary: report.summary ?? result.summary,
        costUsd: addUp(result.costUsd, report.costUsd),
        tokens: addTokens(result.tokens, report.tokens),
        sessionId: report.sessionId ?? result.sessionId,
        attempts: addUp(result.attempts, report.attempts),
      });
      timings.agentMs += lap();
      const agentCheck = {
        name: round === 0 ? 'agent' : `agent (repair round ${round})`,
        ok: report.ok,
        message: report.error ?? report.summary,
      };
      result.checks.push(agentCheck);
      if (!report.ok) {
        entry.failed = 'agent';
        result.error = `the agent failed${round > 0 ? ` in repair round ${round}` : ''}: ${report.error}`;
        return finish(worktree);
      }

      const problem = await judgeRound(worktree, round);
      if (!problem) {
        accepted = lastVerdict?.accepted ?? [];
        break;
      }
      entry.failed = problem.kind;
      const left = deadline - Date.now();
      if (round >= repairs || left <= 0) {
        const why =
          round < repairs
            ? ` (the session's time is spent: no repair round is left)`
            : round > 0
              ? ` (still, after ${round} repair round${round === 1 ? '' : 's'})`
              : '';
        result.error = `${problem.error}${why}${problem.detail ? `:\n${problem.detail}` : problem.error.endsWith('.') ? '' : '.'}`;
        return finish(worktree);
      }
      const message = feedbackMessage({ round: round + 1, projectRoot: spec.projectRoot, ...problem.feedback });
      const file = join(dir, `feedback.round-${round + 1}.md`);
      writeFileSync(file, message);
      entry.feedbackFile = file;
      say(`repair round ${round + 1} of ${repairs}: ${problem.summary}; the agent is told (${file})`);
      repair = {
        round: round + 1,
        message,
        file,
        ...(result.sessionId ? { sessionId: result.sessionId } : {}),
        ...(result.tokens ? { usedTokens: result.tokens } : {}),
      };
    }

    const active = worktree;
    const edits = await readWiredEdits(
      active,
      (lastVerdict?.wired ?? []).map((change) => ({ path: change.path, project: projectOf.get(change.path) ?? '' })),
    );
    // The record reads the worktree only, and so does the diff: both at once.
    integratedDiff = recordDiff(active, accepted, true);
    const recorded = await recordSessionFiles(active, dir, accepted);
    if (edits.length > 0) writeWiredEdits(dir, edits);
    result.wired = edits.map((edit) => ({ path: edit.path, project: edit.project, status: 'recorded' as const }));
    const counts = await integratedDiff;
    result.files = recorded.map((file) => ({ ...file, ...counts?.get(file.path) }));
    result.checks.push({
      name: 'record',
      ok: true,
      message: `${result.files.length} file(s) recorded${edits.length > 0 ? `, ${edits.length} wired edit(s)` : ''}${rounds.length > 1 ? ` after ${rounds.length} rounds` : ''}; the fanout target lands them`,
    });
    markRanNow(spec.workspaceRoot, spec.project, result.id);
    result.status = 'succeeded';
    timings.integrateMs = lap();
    await removeWorktree(spec.workspaceRoot, spec.project, spec.cleanUpLater);
    timings.worktreeMs += lap();
    return finish();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof IntegrationRefused) result.checks.push({ name: 'record', ok: false, message });
    result.error = message;
    return finish(worktree);
  }
}
