import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { processAlive } from '../system/lock';
import { processStart, processStartedAt, warnOnce, type ProcessInfoOptions } from '../system/process-info';

/**
 * The lead session of a run's cache prefix (agents/cache-prefix.ts). A provider caches
 * a prompt's prefix only once a response to it has begun, so sessions that all start at
 * once all miss and all write the same base context to the cache. The first session of a run to reach
 * its agent becomes the lead and starts at once; the others wait until the lead's
 * model has begun its first response (the cache then holds the prefix they share),
 * until the lead's agent has ended, or for at most `waitMs`.
 *
 * Sessions are separate processes (one executor per Nx task), so they meet in
 * files: `<dir>/<run>/lead.json`, created exclusively by the one lead, and
 * `<dir>/<run>/ready`, which the lead writes when its response began or its agent
 * ended. A crashed lead cannot hold the others: they stop waiting when its
 * process is gone.
 */

export interface LeadOptions {
  /** Where runs meet: `<workspace>/.fanout/lead`. */
  dir: string;
  /** The run, the same for every session of one `nx run-many` on this machine (runKey()). */
  run: string;
  project: string;
  /** The longest a session waits for the lead. */
  waitMs: number;
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Whether process `pid` still runs (process.kill(pid, 0)). */
  isAlive?: (pid: number) => boolean;
  now?: () => number;
}

export type LeadTurn =
  /** This session leads: call ready() when its model's first response began, and again (harmlessly) when its agent ended. */
  | { role: 'lead'; ready(why: 'response' | 'ended'): void }
  /** This session waited for `lead`. */
  | { role: 'follower'; lead: string; waitedMs: number; outcome: 'response' | 'ended' | 'timeout' }
  /** The sessions could not meet (the folder cannot be written): this one starts at once. */
  | { role: 'alone'; note: string };

const DEFAULT_POLL_MS = 200;

/**
 * The run this process's session belongs to: Nx starts every task of a run from
 * the same process, so its pid, with its start time against pid reuse.
 */
export function runKey(ppid: number = process.ppid, { readers, warn = warnOnce }: ProcessInfoOptions = {}): string {
  const started = processStart(ppid, { readers, warn });
  if (started !== undefined) return `${ppid}-${started}`;
  warn(
    `could not read when the Nx process (pid ${ppid}) started (no /proc, and \`ps -o lstart=\` did not answer), ` +
      'so the sessions of this run meet under its pid alone',
  );
  return String(ppid);
}

/** When the run began: the start of the Nx process that started this task; undefined where that cannot be read. */
export function runStartedAt(ppid: number = process.ppid, { readers, warn = warnOnce }: ProcessInfoOptions = {}): number | undefined {
  const started = processStartedAt(ppid, { readers, warn });
  if (started === undefined) {
    warn(
      `could not read when the Nx process (pid ${ppid}) started (no /proc, and \`ps -o lstart=\` did not answer), ` +
        "so the run's start is unknown and every landing writes the report",
    );
  }
  return started;
}

/** Removes the folders of runs whose Nx process has ended. */
function removeEndedRuns(dir: string, current: string, isAlive: (pid: number) => boolean): void {
  for (const entry of readdirSync(dir)) {
    if (entry === current) continue;
    const pid = Number(entry.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

function readLead(file: string): { project?: string; pid?: number } {
  try {
    return JSON.parse(readFileSync(file, 'utf-8')) as { project?: string; pid?: number };
  } catch {
    // Being written this instant.
    return {};
  }
}

function readReady(file: string): 'response' | 'ended' | undefined {
  try {
    const why = readFileSync(file, 'utf-8').trim();
    return why === 'ended' ? 'ended' : 'response';
  } catch {
    return undefined;
  }
}

/** Becomes the run's lead, or waits for it. */
export async function takeLeadTurn(options: LeadOptions): Promise<LeadTurn> {
  const isAlive = options.isAlive ?? processAlive;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;
  const runDir = join(options.dir, options.run);
  const leadFile = join(runDir, 'lead.json');
  const readyFile = join(runDir, 'ready');
  try {
    mkdirSync(runDir, { recursive: true });
    removeEndedRuns(options.dir, options.run, isAlive);
  } catch (error) {
    return { role: 'alone', note: `${runDir} cannot be written (${(error as Error).message})` };
  }
  try {
    const fd = openSync(leadFile, 'wx');
    try {
      writeFileSync(fd, JSON.stringify({ project: options.project, pid: process.pid }));
    } finally {
      closeSync(fd);
    }
    let said: string | undefined;
    return {
      role: 'lead',
      ready: (why) => {
        // The first word stands: a response that began is what the others wait for.
        if (said) return;
        said = why;
        try {
          writeFileSync(readyFile, why);
        } catch {
          // The others stop waiting when this process ends, or at their bound.
        }
      },
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      return { role: 'alone', note: `${leadFile} cannot be written (${(error as Error).message})` };
    }
  }
  const started = now();
  let lead = readLead(leadFile);
  for (;;) {
    const why = readReady(readyFile);
    if (why) return { role: 'follower', lead: lead.project ?? 'unknown', waitedMs: now() - started, outcome: why };
    if (lead.pid === undefined) lead = readLead(leadFile);
    if (lead.pid !== undefined && !isAlive(lead.pid)) {
      return { role: 'follower', lead: lead.project ?? 'unknown', waitedMs: now() - started, outcome: 'ended' };
    }
    const left = options.waitMs - (now() - started);
    if (left <= 0) return { role: 'follower', lead: lead.project ?? 'unknown', waitedMs: now() - started, outcome: 'timeout' };
    await sleep(Math.min(options.pollMs ?? DEFAULT_POLL_MS, left));
  }
}
