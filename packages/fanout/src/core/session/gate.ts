import { appendFileSync, existsSync, readFileSync, realpathSync, rmSync } from 'fs';
import { basename, dirname, join, relative, resolve } from 'path';
import { plainText } from '../system/plain-text';
import { GATE_TARGETS } from '../../constants';
import { withoutOuterTask } from '../system/nx-env';
import { runProcess, type ProcessOptions, type ProcessResult } from '../system/process';

/**
 * The gate: the task project's own targets (typecheck, test, lint), run through
 * the Nx CLI in the session's worktree before anything is integrated. A session
 * lands only when they pass.
 */

/** How much of each target's output a gate result keeps: its end, where tools summarize and Nx says what failed. */
export const GATE_OUTPUT_CHARS = 20 * 1024;
/** How much of the gate's stdout is kept in memory to split by task: every target's part of it, whole. */
const GATE_CAPTURE_BYTES = 4 * 1024 * 1024;

/**
 * What Nx writes into the worktree when the gate runs it there: its workspace data
 * (project graph, file map), and its cache where the workspace has no shared one.
 * Nx's own workspace generators ignore both; a session must not be charged with them.
 */
export const GATE_SCRATCH_PATHS: readonly string[] = ['.nx/workspace-data', '.nx/cache'];

export interface GateTargets {
  /** The targets to run, in order. */
  run: string[];
  /** Targets asked for that the project does not have. */
  missing: string[];
}

/**
 * The targets the gate runs for a project that has `projectTargets`. `wanted` is
 * what the `gate` option asks for (`[]`: no gate); without it, those of
 * GATE_TARGETS the project has. A target asked for by name that the project
 * lacks is returned in `missing`, for the session to report.
 */
export function gateTargets(projectTargets: readonly string[], wanted: readonly string[] | undefined): GateTargets {
  const has = new Set(projectTargets);
  if (wanted === undefined) return { run: GATE_TARGETS.filter((target) => has.has(target)), missing: [] };
  const asked = [...new Set(wanted)];
  return { run: asked.filter((target) => has.has(target)), missing: asked.filter((target) => !has.has(target)) };
}

/**
 * Where the environment may tell Nx to keep its data. Nx 23 keeps the cache and
 * its index per user, in `~/.nx/<workspace id>/`, and the workspace data per
 * checkout. A worktree has its workspace's id (same remote, or same first
 * commit), so under that default the gate replays what the user's own runs cached
 * for the same inputs, while its project graph stays in the worktree. Setting
 * any of these turns the sharing off (Nx then caches in the worktree, cold), and
 * the values the user's environment holds point at the user's workspace: so they
 * are dropped, not replaced.
 */
const DATA_LOCATION_VARIABLES = ['NX_WORKSPACE_DATA_DIRECTORY', 'NX_PROJECT_GRAPH_CACHE_DIRECTORY', 'NX_CACHE_DIRECTORY'];

/**
 * The environment the gate's nx runs with. Besides the outer task's variables,
 * NX_INVOCATION_ROOT_PID goes: Nx keys its check for a task that invokes itself
 * on it, and the gate is a run of its own, in another checkout, which a repair
 * round repeats. No daemon (a daemon per worktree would outlive the session), no
 * terminal UI, no colours and no CI log groups: the output is read back for the
 * repair message. Without a daemon each target computes the project graph
 * afresh, and Nx would start a process per plugin to do it: the gate loads them
 * in its own process instead (several times faster on a busy machine), unless
 * the user's environment says otherwise.
 */
export function gateEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const gate = withoutOuterTask(env);
  for (const name of [...DATA_LOCATION_VARIABLES, 'NX_INVOCATION_ROOT_PID']) delete gate[name];
  return {
    ...gate,
    NX_DAEMON: 'false',
    NX_TUI: 'false',
    NX_SKIP_LOG_GROUPING: 'true',
    FORCE_COLOR: '0',
    NX_ISOLATE_PLUGINS: gate['NX_ISOLATE_PLUGINS'] ?? 'false',
  };
}

/** The nx the gate runs: the workspace's own, through the worktree's link to its node_modules. */
export function gateNxBinary(worktree: string): string {
  return join(worktree, 'node_modules', '.bin', 'nx');
}

/**
 * The argv of a gate: one `nx run-many` for all its targets, so the project graph
 * is computed once. Static output: plain lines, each task's output in full under
 * its `> nx run` heading. One task at a time: the sessions already run side by
 * side. Sync generators are skipped: without a terminal Nx would prompt for them
 * and fail, and they would rewrite files (root tsconfig references) outside the
 * session's scope.
 */
export function gateArgv(nx: string, project: string, targets: readonly string[]): string[] {
  return [nx, 'run-many', `--targets=${targets.join(',')}`, `--projects=${project}`, '--outputStyle=static', '--skipSync', '--parallel=1'];
}

/** Where the gate asks Nx for its task profile (NX_PROFILE): next to the session log. */
function gateProfileFile(logFile: string): string {
  return join(dirname(logFile), 'gate-profile.json');
}

/** How Nx's task profile records a task: its status and how long it ran. */
export interface ProfiledTask {
  status: string;
  durationMs: number;
}

/** Statuses of a task that passed: run, or replayed from a cache. */
export const PASSED = new Set(['success', 'local-cache', 'local-cache-kept-existing', 'remote-cache']);
const CACHED = new Set(['local-cache', 'local-cache-kept-existing', 'remote-cache']);

/**
 * The tasks of Nx's profile (a Chrome trace: one complete event per task, its
 * status in args), by task id; undefined when Nx wrote none (it stopped before
 * running tasks, or was stopped).
 */
export function readTaskProfile(file: string): Map<string, ProfiledTask> | undefined {
  let events: unknown;
  try {
    events = JSON.parse(readFileSync(file, 'utf-8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(events)) return undefined;
  const tasks = new Map<string, ProfiledTask>();
  for (const event of events as { ph?: string; name?: string; dur?: number; args?: { status?: string } }[]) {
    if (event?.ph !== 'X' || typeof event.name !== 'string' || typeof event.args?.status !== 'string') continue;
    tasks.set(event.name, { status: event.args.status, durationMs: Math.round((event.dur ?? 0) / 1000) });
  }
  return tasks;
}

const TASK_HEADING = /^> nx run (\S+?)(?:\s+\[[^\]]*\])?\s*$/;
/** Where Nx's own lines start again after a task's output: its summary, or the profile's path. */
const NX_SUMMARY = /^\s*NX\s{2,}\S|^Performance Profile: /;

/** Each task's output in Nx's static output, by task id: from its `> nx run` heading to the next heading or Nx's summary. */
export function taskOutputs(stdout: string): Map<string, string> {
  const outputs = new Map<string, string>();
  let current: string | undefined;
  let lines: string[] = [];
  const close = () => {
    if (current !== undefined) outputs.set(current, `${lines.join('\n').trimEnd()}\n`);
    current = undefined;
    lines = [];
  };
  for (const line of stdout.split('\n')) {
    // Nx colours its headings where it thinks the terminal takes colours (FORCE_COLOR, a CI's log).
    const plain = plainText(line);
    const heading = TASK_HEADING.exec(plain);
    if (heading) {
      close();
      current = heading[1];
    } else if (current !== undefined && NX_SUMMARY.test(plain)) {
      close();
      continue;
    }
    if (current !== undefined) lines.push(line);
  }
  close();
  return outputs;
}

export interface GateTargetResult {
  target: string;
  ok: boolean;
  durationMs: number;
  /** The end of the target's output (stdout, then stderr), redacted, at most about GATE_OUTPUT_CHARS. */
  output: string;
  /**
   * The target's own exit code: 0 when it passed; for a failure, the code its
   * output states, else null. Never nx's own: nx exits with one code for the
   * whole run (130 when it skipped a task), which says nothing of one target.
   */
  exitCode: number | null;
  /** Stopped, or never started, because the gate's time ran out. */
  timedOut?: boolean;
  /** Replayed from Nx's cache: the same inputs passed before. */
  cached?: boolean;
  /**
   * Not run: Nx skipped it because a task it depends on failed. `because` holds
   * the tasks of the run that failed (task ids); Nx does not say which of them
   * it depends on, so where several failed, each is named.
   */
  skipped?: { because: string[] };
}

/** The parts of a target's outcome its verdict is read from; a round's entry in result.json has them too. */
export type GateVerdictFields = Pick<GateTargetResult, 'ok' | 'exitCode' | 'timedOut' | 'cached' | 'skipped'>;

/** A task id as `project`'s own messages name it: its target alone when it is one of `project`'s. */
function taskName(id: string, project: string): string {
  return id.startsWith(`${project}:`) ? id.slice(project.length + 1) : id;
}

/**
 * A target's own verdict, as the log, the session's error and the repair message
 * say it: `passed`, `passed (from the cache)`, `timed out`, `failed`,
 * `failed (exit code 2)`, or `not run because typecheck failed`.
 */
export function gateVerdict(result: GateVerdictFields, project: string): string {
  if (result.ok) return result.cached ? 'passed (from the cache)' : 'passed';
  if (result.timedOut) return 'timed out';
  if (result.skipped) {
    const causes = result.skipped.because.map((id) => taskName(id, project));
    return causes.length > 0 ? `not run because ${causes.join(' or ')} failed` : 'not run because a task it depends on failed';
  }
  return result.exitCode === null ? 'failed' : `failed (exit code ${result.exitCode})`;
}

const STATED_EXIT_CODE = /^\s*(?:\S+\s+)?Command failed with exit code (-?\d+)\.?\s*$/;

/**
 * The exit code a failed task's output states, where a tool it ran says it:
 * pnpm (` ELIFECYCLE  Command failed with exit code 2.`) and Yarn 1
 * (`error Command failed with exit code 2.`); null elsewhere. Nx's own warning
 * (`command "…" exited with non-zero status code`) and npm 11 state none.
 */
export function statedExitCode(output: string): number | null {
  const lines = output.split(/\r?\n/);
  for (let index = lines.length - 1; index >= 0; index--) {
    const stated = STATED_EXIT_CODE.exec(lines[index]);
    if (stated) return Number(stated[1]);
  }
  return null;
}

export interface GateResult {
  ok: boolean;
  project: string;
  targets: GateTargetResult[];
}

export type ProcessRunner = (argv: readonly string[], options: ProcessOptions) => Promise<ProcessResult>;

export interface GateOptions {
  worktree: string;
  workspaceRoot: string;
  project: string;
  /** From gateTargets(...).run. */
  targets: readonly string[];
  /** The session's environment; gateEnv() makes the gate's from it. */
  env: NodeJS.ProcessEnv;
  /** For all the targets together. */
  timeoutMs: number;
  /** The session log: each target's output is appended to it. */
  logFile: string;
  echo: boolean;
  redact: (text: string) => string;
  /** Runs nx; runProcess unless a test injects another. */
  run?: ProcessRunner;
}

/** The end of `text`, cut at a line start, after a line saying so. */
function tail(text: string, limit: number): string {
  if (text.length <= limit) return text;
  const end = text.slice(text.length - limit);
  const lineStart = end.indexOf('\n');
  const kept = lineStart >= 0 && lineStart < end.length - 1 ? end.slice(lineStart + 1) : end;
  return `[fanout] only the last ${limit} characters of the output are kept here; the session log has more\n${kept}`;
}

/** Stdout, then stderr (where Nx says which task failed), each on lines of its own. */
function joinStreams(stdout: string, stderr: string): string {
  if (stdout === '' || stderr === '') return stdout + stderr;
  return stdout.endsWith('\n') ? stdout + stderr : `${stdout}\n${stderr}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Runs the gate: the targets through one `nx run-many` in the worktree, every one
 * of them even when one fails (a repair needs every failure). Each target's
 * outcome and time come from Nx's task profile, its output from its part of
 * Nx's static output. A target Nx skipped because a task it depends on failed
 * is recorded as not run, naming the failed tasks; one Nx did not reach (it
 * stopped before any task) fails with what Nx said. At the time limit Nx is
 * stopped and the targets without an outcome are recorded as timed out.
 */
export async function runGate(options: GateOptions): Promise<GateResult> {
  const { worktree, project, logFile, redact, targets } = options;
  const run = options.run ?? runProcess;
  if (resolve(worktree) === resolve(options.workspaceRoot)) {
    throw new Error(`the gate of ${project} runs in its worktree, never in the workspace itself (${options.workspaceRoot}).`);
  }
  if (targets.length === 0) return { ok: true, project, targets: [] };
  const nx = gateNxBinary(worktree);
  if (!existsSync(nx)) {
    throw new Error(
      `cannot run ${project}'s ${targets.join(', ')} in its worktree: ${nx} does not exist. ` +
        `Install the workspace's dependencies in ${options.workspaceRoot} (node_modules/.bin/nx must be there), ` +
        'or turn the gate off with gate: [] in fanout.md.',
    );
  }
  const profileFile = gateProfileFile(logFile);
  rmSync(profileFile, { force: true });
  // Nx writes the profile at a path it joins to its working directory: the real path of the worktree.
  const profilePath = relative(realpathSync(worktree), join(realpathSync(dirname(profileFile)), basename(profileFile)));
  const env = { ...gateEnv(options.env), NX_PROFILE: profilePath };
  const argv = gateArgv(nx, project, targets);
  appendFileSync(logFile, `[fanout] gate: nx ${argv.slice(1).join(' ')} (in ${worktree})\n`);
  const started = Date.now();
  const outcome = await run(argv, {
    cwd: worktree,
    env,
    timeoutMs: options.timeoutMs,
    logFile,
    echo: options.echo,
    redact,
    captureBytes: GATE_CAPTURE_BYTES,
  });
  const elapsedMs = Date.now() - started;
  const profile = outcome.timedOut ? undefined : readTaskProfile(profileFile);
  rmSync(profileFile, { force: true });
  // Redacted whole, then cut: a cut first could leave half a secret that no longer matches.
  const stdout = redact(outcome.stdout);
  const whole = joinStreams(stdout, redact(outcome.stderr));
  const outputs = taskOutputs(stdout);
  const ids = new Set(targets.map((target) => `${project}:${target}`));
  // Every task of the run that neither passed nor was skipped: what a skipped target waited on is among them.
  const failures = [...(profile ?? [])].filter(([, task]) => !PASSED.has(task.status) && task.status !== 'skipped').map(([id]) => id);

  // Where Nx gives no time per task, the run's is shared out, so that the targets' times still add up to it.
  const share = Math.round(elapsedMs / targets.length);
  const results = targets.map((target): GateTargetResult => {
    const id = `${project}:${target}`;
    const own = outputs.get(id);
    if (outcome.timedOut) {
      const output = `${own ?? tail(whole, GATE_OUTPUT_CHARS)}\n[fanout] stopped: the gate's time (${seconds(options.timeoutMs)}) ran out during ${id}'s run.`;
      return { target, ok: false, durationMs: share, output: tail(output, GATE_OUTPUT_CHARS), exitCode: null, timedOut: true };
    }
    const task = profile?.get(id);
    // Nx 23 leaves a skipped task out of its profile (and exits with 130); earlier versions record it as skipped.
    const skipped = task?.status === 'skipped' || (profile !== undefined && task === undefined && failures.length > 0);
    if (skipped) {
      const because = failures.filter((cause) => cause !== id);
      // A cause that is one of the gate's own targets has its output under its own name; another's is quoted here.
      const quoted = because.filter((cause) => !ids.has(cause)).map((cause) => outputs.get(cause) ?? `> nx run ${cause}\n(no output)\n`);
      const named = because.length > 0 ? ` (${because.join(', ')})` : '';
      const output = `[fanout] nx did not run ${id}: a task it depends on failed${named}.\n${quoted.join('\n')}`;
      return {
        target,
        ok: false,
        durationMs: task?.durationMs ?? 0,
        output: tail(output, GATE_OUTPUT_CHARS),
        exitCode: null,
        skipped: { because },
      };
    }
    if (task === undefined) {
      // Nx stopped before its tasks (a graph error, say), so wrote no profile: its own words are all there is.
      const ok = profile === undefined && outcome.exitCode === 0;
      const said =
        whole.trim() === '' ? `nx exited with code ${outcome.exitCode ?? `signal ${outcome.signal}`} and printed nothing.` : whole;
      const output = ok ? (own ?? '') : `[fanout] nx did not run ${id}; what it printed:\n${said}`;
      return { target, ok, durationMs: share, output: tail(output, GATE_OUTPUT_CHARS), exitCode: ok ? 0 : null };
    }
    const ok = PASSED.has(task.status);
    let output = own ?? '';
    if (!ok && output.trim() === '') output = `${id} failed and printed nothing.`;
    return {
      target,
      ok,
      durationMs: task.durationMs,
      output: tail(output, GATE_OUTPUT_CHARS),
      exitCode: ok ? 0 : statedExitCode(own ?? ''),
      ...(CACHED.has(task.status) ? { cached: true } : {}),
    };
  });
  for (const result of results) {
    const time = result.skipped ? '' : ` in ${seconds(result.durationMs)}`;
    appendFileSync(logFile, `[fanout] gate: ${project}:${result.target} ${gateVerdict(result, project)}${time}\n`);
  }
  return { ok: results.every((result) => result.ok), project, targets: results };
}
