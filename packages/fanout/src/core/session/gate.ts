import { appendFileSync, existsSync } from 'fs';
import { join, resolve } from 'path';
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
 * The argv of one gate target. Static output: plain lines, every task's output
 * in full (a style every Nx the plugin supports knows). Sync generators are
 * skipped: without a terminal Nx would prompt for them and fail, and they would
 * rewrite files (root tsconfig references) outside the session's scope.
 */
export function gateArgv(nx: string, project: string, target: string): string[] {
  return [nx, 'run', `${project}:${target}`, '--outputStyle=static', '--skipSync'];
}

export interface GateTargetResult {
  target: string;
  ok: boolean;
  durationMs: number;
  /** The end of the target's output (stdout, then stderr), redacted, at most about GATE_OUTPUT_CHARS. */
  output: string;
  exitCode: number | null;
  /** Stopped, or never started, because the gate's time ran out. */
  timedOut?: boolean;
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
 * Runs the gate's targets one after another, each through nx in the worktree, and
 * all of them even when one fails: a repair needs every failure. Only the time
 * limit stops it early; targets it left unrun are recorded as timed out.
 */
export async function runGate(options: GateOptions): Promise<GateResult> {
  const { worktree, project, logFile, redact } = options;
  const run = options.run ?? runProcess;
  if (resolve(worktree) === resolve(options.workspaceRoot)) {
    throw new Error(`the gate of ${project} runs in its worktree, never in the workspace itself (${options.workspaceRoot}).`);
  }
  const nx = gateNxBinary(worktree);
  if (options.targets.length > 0 && !existsSync(nx)) {
    throw new Error(
      `cannot run ${project}'s ${options.targets.join(', ')} in its worktree: ${nx} does not exist. ` +
        `Install the workspace's dependencies in ${options.workspaceRoot} (node_modules/.bin/nx must be there), ` +
        'or turn the gate off with gate: [] in fanout.md.',
    );
  }
  const env = gateEnv(options.env);
  const deadline = Date.now() + options.timeoutMs;
  const results: GateTargetResult[] = [];
  let outOfTime = false;
  for (const target of options.targets) {
    const left = deadline - Date.now();
    if (outOfTime || left <= 0) {
      const output = `[fanout] not run: the gate's time (${seconds(options.timeoutMs)}) ran out before ${project}:${target}.`;
      appendFileSync(logFile, `${output}\n`);
      results.push({ target, ok: false, durationMs: 0, output, exitCode: null, timedOut: true });
      continue;
    }
    const argv = gateArgv(nx, project, target);
    appendFileSync(logFile, `[fanout] gate: nx ${argv.slice(1).join(' ')} (in ${worktree})\n`);
    const started = Date.now();
    const outcome = await run(argv, {
      cwd: worktree,
      env,
      timeoutMs: left,
      logFile,
      echo: options.echo,
      redact,
      captureBytes: 2 * GATE_OUTPUT_CHARS,
    });
    const durationMs = Date.now() - started;
    // It had all the time left: the gate's is spent.
    outOfTime = outcome.timedOut;
    const ok = outcome.exitCode === 0 && !outcome.timedOut;
    // Redacted whole, then cut: a cut first could leave half a secret that no longer matches.
    let output = tail(redact(joinStreams(outcome.stdout, outcome.stderr)), GATE_OUTPUT_CHARS);
    if (outcome.timedOut)
      output += `\n[fanout] stopped: the gate's time (${seconds(options.timeoutMs)}) ran out during ${project}:${target}.`;
    else if (!ok && output.trim() === '')
      output = `nx exited with code ${outcome.exitCode ?? `signal ${outcome.signal}`} and printed nothing.`;
    const verdict = ok ? 'passed' : outcome.timedOut ? 'timed out' : `failed (exit code ${outcome.exitCode ?? outcome.signal})`;
    appendFileSync(logFile, `[fanout] gate: ${project}:${target} ${verdict} in ${seconds(durationMs)}\n`);
    results.push({ target, ok, durationMs, output, exitCode: outcome.exitCode, ...(outcome.timedOut ? { timedOut: true } : {}) });
  }
  return { ok: results.every((result) => result.ok), project, targets: results };
}
