import { randomUUID } from 'crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { AgentReport, AgentTokens } from '../agents/agent';
import { formatFinding, type Finding } from '../checks/check';
import { recordedFilesDir, type RecordedFile } from '../landing/record';
import { removeKeptState } from '../sandbox/session-sandbox';
import { headCommit } from '../system/git';
import { createRedactor, redactDeep, type GrowingRedactor, type Redactor } from '../system/redact';
import type { GateResult } from './gate';
import { IntegrationRefused } from './integrate';
import type { LeadTurn } from './cache-prefix-lead';
import {
  RESULT_VERSION,
  type SessionResult,
  type SessionRound,
  type SessionBudgetRecord,
  type SessionSandboxRecord,
  type SessionTimings,
} from './result';
import type { FileChange } from './scope';
import { recordSessionDiff, type LineCounts } from './session-diff';
import type { SessionSpec } from './session-spec';
import { wiredEditsFile, type WiredEdit } from './wiring';
import type { Worktree } from './worktree';
import { DIFF_FILE, RESULT_FILE, sessionDir } from '../../constants';

/** Notes a process prints once on the terminal, however many of its sessions meet them. */
const saidOnce = new Set<string>();

/** The CLI state an earlier session's result.json says it kept, if any. */
function previousKeptState(file: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(file, 'utf-8')) as SessionResult).sandbox?.keptState;
  } catch {
    return undefined;
  }
}

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

/**
 * A session's record as it is made: its folder, its log (`say`), the redaction
 * of both, its result and timings, its diff, and `finish`, which writes
 * result.json. Every phase of a session tells the recorder what came of it.
 */
export class SessionRecorder {
  private readonly started = new Date();
  private readonly lap = phaseClock();
  private readonly timings: SessionTimings = { contextMs: 0, worktreeMs: 0, agentMs: 0, checksMs: 0, integrateMs: 0 };
  /** What the session changed, once known: a failed session keeps its worktree, and its diff helps to review it. */
  private changes: readonly FileChange[] | undefined;
  /** The diff of what is being recorded, written while the files are. */
  private recordedDiff: Promise<Map<string, LineCounts> | undefined> | undefined;
  private readonly result: SessionResult;

  /**
   * Clears what an earlier session of the task left in its folder and starts the log.
   * Throws, before anything else, when the workspace has no commit to make a worktree from.
   */
  static async open(spec: SessionSpec): Promise<SessionRecorder> {
    const dir = sessionDir(spec.workspaceRoot, spec.project);
    mkdirSync(dir, { recursive: true });
    // The CLI state the task's previous session kept for fanout-verify: this session replaces it.
    removeKeptState(previousKeptState(join(dir, RESULT_FILE)));
    rmSync(join(dir, RESULT_FILE), { force: true });
    rmSync(join(dir, DIFF_FILE), { force: true });
    // A record of an earlier session must never be taken for this one's.
    rmSync(wiredEditsFile(dir), { force: true });
    rmSync(recordedFilesDir(dir), { recursive: true, force: true });
    writeFileSync(join(dir, 'session.log'), '');
    // Built from the whole environment (NX_* included, which the agent does not get but could still read).
    const redact = createRedactor(spec.env ?? process.env);
    const baseCommit = await headCommit(spec.workspaceRoot);
    if (!baseCommit) {
      throw new Error(
        `${spec.workspaceRoot} is not a git repository with a commit: sessions run in git worktrees made from HEAD. ` +
          'Run git init and commit, then run the tasks again.',
      );
    }
    return new SessionRecorder(spec, dir, redact, baseCommit);
  }

  private constructor(
    private readonly spec: SessionSpec,
    readonly dir: string,
    private readonly redaction: GrowingRedactor,
    baseCommit: string,
  ) {
    this.result = {
      version: RESULT_VERSION,
      id: randomUUID(),
      project: spec.project,
      status: 'failed',
      agent: spec.agent ?? spec.assignment.agent,
      startedAt: this.started.toISOString(),
      endedAt: '',
      durationMs: 0,
      baseCommit,
      baseContextHash: spec.base.baseHash,
      files: [],
      rejected: [],
      steps: [],
      findings: [],
      log: join(dir, 'session.log'),
      promptFile: join(dir, 'prompt.md'),
      timings: this.timings,
    };
  }

  get id(): string {
    return this.result.id;
  }

  get logFile(): string {
    return this.result.log;
  }

  get promptFile(): string {
    return this.result.promptFile;
  }

  /** The redaction of everything the session writes or shows: its log, result.json, the agent's and the gate's output. */
  get redact(): Redactor {
    return this.redaction;
  }

  /** Redacts the secret values of `env` too, from here on (the agent's options' env). */
  addSecrets(env: NodeJS.ProcessEnv): void {
    this.redaction.add(env);
  }

  /** A line of the session's log, redacted, also on the terminal. */
  say(text: string): void {
    const line = this.redaction(text);
    this.spec.log?.(line);
    writeFileSync(this.logFile, `[fanout] ${line}\n`, { flag: 'a' });
  }

  /** A note in every session's log, on the terminal once per process: every session of the run would say the same. */
  sayOncePerProcess(note: string): void {
    writeFileSync(this.logFile, `[fanout] ${note}\n`, { flag: 'a' });
    if (!saidOnce.has(note)) this.spec.log?.(note);
    saidOnce.add(note);
  }

  /** Counts the time since the last phase ended against `phase`. */
  time(phase: keyof SessionTimings): void {
    this.timings[phase] = (this.timings[phase] ?? 0) + this.lap();
  }

  check(name: string, ok: boolean, message?: string): void {
    this.result.steps.push({ name, ok, message });
  }

  lead(turn: LeadTurn | undefined): void {
    if (turn?.role === 'lead') this.result.lead = { role: 'lead' };
    else if (turn?.role === 'follower') {
      this.result.lead = { role: 'follower', lead: turn.lead, waitedMs: turn.waitedMs, outcome: turn.outcome };
    }
  }

  /** A new round: the first attempt (0), then each repair round. */
  round(round: number): SessionRound {
    const entry: SessionRound = { round, agentMs: 0, gate: [] };
    (this.result.rounds ??= []).push(entry);
    return entry;
  }

  /** What the agent reported for a round, in the round and in the session's totals. */
  agentRan(entry: SessionRound, report: AgentReport): void {
    Object.assign(entry, {
      ok: report.ok,
      ...(report.costUsd !== undefined ? { costUsd: report.costUsd } : {}),
      ...(report.tokens ? { tokens: report.tokens } : {}),
      ...(report.attempts !== undefined ? { attempts: report.attempts } : {}),
    });
    Object.assign(this.result, {
      summary: report.summary ?? this.result.summary,
      costUsd: addUp(this.result.costUsd, report.costUsd),
      tokens: addTokens(this.result.tokens, report.tokens),
      sessionId: report.sessionId ?? this.result.sessionId,
      attempts: addUp(this.result.attempts, report.attempts),
    });
  }

  /** The conversation a repair round continues, and the tokens the rounds so far used. */
  agentSoFar(): { sessionId?: string; usedTokens?: AgentTokens } {
    return {
      ...(this.result.sessionId ? { sessionId: this.result.sessionId } : {}),
      ...(this.result.tokens ? { usedTokens: this.result.tokens } : {}),
    };
  }

  /** What the agent left in the worktree in the last round judged. */
  changed(changes: readonly FileChange[]): void {
    this.changes = changes;
  }

  rejected(rejected: SessionResult['rejected']): void {
    this.result.rejected = rejected;
  }

  /** The per-session checks' findings, each also in the log. */
  found(findings: Finding[]): void {
    this.result.findings = findings;
    for (const finding of findings) this.say(formatFinding(finding));
  }

  gate(outcome: GateResult): void {
    this.result.gate = outcome;
  }

  fail(error: string): void {
    this.result.error = error;
  }

  /** What the session threw: its message is the session's error. */
  thrown(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof IntegrationRefused) this.check('record', false, message);
    this.fail(message);
  }

  /**
   * Records the diff of the work being recorded, while its files are; the lines each file
   * added and removed when it is done. The diff is for review only: a session whose diff
   * cannot be recorded still stands, with the reason in its log.
   */
  recordDiff(worktree: Worktree, changes: readonly FileChange[]): Promise<Map<string, LineCounts> | undefined> {
    this.recordedDiff = this.writeDiff(worktree, changes, true);
    return this.recordedDiff;
  }

  private async writeDiff(worktree: Worktree, changes: readonly FileChange[], integrated: boolean) {
    if (changes.length === 0) return undefined;
    try {
      const recorded = await recordSessionDiff({
        workspaceRoot: this.spec.workspaceRoot,
        sessionDir: this.dir,
        worktree,
        changes,
        integrated,
        redact: this.redaction,
      });
      this.result.diff = recorded.diff;
      return recorded.counts;
    } catch (error) {
      this.say(`could not record the session's diff in ${DIFF_FILE}: ${(error as Error).message}`);
      return undefined;
    }
  }

  wiredEdits(edits: readonly WiredEdit[]): void {
    this.result.wired = edits.map((edit) => ({ path: edit.path, project: edit.project, status: 'recorded' as const }));
  }

  /** The files recorded, with the lines each added and removed; the session then succeeded. */
  recorded(files: readonly RecordedFile[], counts: Map<string, LineCounts> | undefined, message: string): void {
    this.result.files = files.map((file) => ({ ...file, ...counts?.get(file.path) }));
    this.check('record', true, message);
  }

  /** The sandbox the agent ran in, its policy and its denials so far. */
  sandbox(record: SessionSandboxRecord): void {
    this.result.sandbox = record;
  }

  /** Whether the agent left a conversation to resume (its CLI reported one). */
  get hasConversation(): boolean {
    return this.result.sessionId !== undefined;
  }

  /** The CLI state kept after the session, for fanout-verify's repairs (SessionSandbox.keepState). */
  keptState(path: string): void {
    if (this.result.sandbox) this.result.sandbox.keptState = path;
  }

  model(model: string | undefined): void {
    if (model) this.result.model = model;
  }

  budget(record: SessionBudgetRecord): void {
    this.result.budget = record;
  }

  succeeded(): void {
    this.result.status = 'succeeded';
  }

  /** Writes result.json, redacted; a failed session's `worktree` is kept, its diff recorded for review. */
  async finish(worktree?: Worktree): Promise<SessionResult> {
    // Never two writers of changes.diff: a failed recording's diff is written again, as not recorded.
    await this.recordedDiff;
    const result = this.result;
    if (result.status === 'failed' && worktree && this.changes) await this.writeDiff(worktree, this.changes, false);
    const ended = new Date();
    result.endedAt = ended.toISOString();
    result.durationMs = ended.getTime() - this.started.getTime();
    if (result.status === 'failed' && worktree) result.worktree = worktree.path;
    // What the agent said (summary, errors, file names) may hold a secret it read.
    const safe = redactDeep(result, this.redaction);
    writeFileSync(join(this.dir, RESULT_FILE), `${JSON.stringify(safe, null, 2)}\n`);
    return safe;
  }
}
