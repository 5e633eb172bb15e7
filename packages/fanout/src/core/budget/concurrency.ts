import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { processAlive, withLock } from '../system/lock';
import { processStart, processState, sameStartClock } from '../system/process-info';

/**
 * `maxConcurrent`: how many sessions of one agent run at once on this machine, across every
 * run (two `nx run-many` in two terminals, or in two clones, share one provider account and
 * its rate limits). A counting semaphore in files: one folder per agent under the machine's
 * temporary folder, one file per slot held, naming its process. Slots are counted and taken
 * under a lock file; a slot whose process has ended (crashed, killed) counts no more and its
 * file is removed, so a crash never holds a slot.
 */

/** Where the slots of every agent live: one folder per machine (per user's temporary folder). */
const SLOTS_DIR = join(tmpdir(), 'fanout-slots');

const DEFAULT_POLL_MS = 500;

export interface SlotHolder {
  pid: number;
  /** The holder's start (processStart), to tell it from a later process given the same pid. */
  start?: string;
  project?: string;
  since: string;
}

export interface SlotOptions {
  /** The folder of every agent's slots; SLOTS_DIR by default. */
  dir?: string;
  /** The session asking, named in its slot file (and in the others' waiting message). */
  project?: string;
  /** Stops the wait: acquire rejects. */
  signal?: AbortSignal;
  /** Called once, when the first try finds every slot taken: for the waiting message in the session's log. */
  onWait?: (holders: readonly SlotHolder[]) => void;
  pollMs?: number;
}

export interface Slot {
  /** How long the session waited for it. */
  waitedMs: number;
  /** Frees the slot; a second call does nothing. */
  release(): void;
}

/** The slot files this process holds, removed if it exits without releasing them. */
const held = new Set<string>();
let exitHandlerInstalled = false;

function removeHeldOnExit(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  process.once('exit', () => {
    for (const file of held) rmSync(file, { force: true });
  });
}

function holderAlive(holder: SlotHolder): boolean {
  if (!Number.isInteger(holder.pid) || holder.pid <= 0 || !processAlive(holder.pid)) return false;
  // A zombie has ended; a different start time, read the same way, means the pid now belongs to another process.
  if (processState(holder.pid) === 'Z') return false;
  if (holder.start === undefined) return true;
  const start = processStart(holder.pid);
  return start === undefined || !sameStartClock(start, holder.start) || start === holder.start;
}

/** The live holders in an agent's folder; the files of ended ones are removed on the way. */
function liveHolders(dir: string): SlotHolder[] {
  const holders: SlotHolder[] = [];
  for (const entry of readdirSync(dir)) {
    if (!entry.endsWith('.slot')) continue;
    const file = join(dir, entry);
    let holder: SlotHolder;
    try {
      holder = JSON.parse(readFileSync(file, 'utf-8')) as SlotHolder;
    } catch {
      // Slot files are written under the lock, whole: one that does not parse is debris.
      rmSync(file, { force: true });
      continue;
    }
    if (held.has(file) || holderAlive(holder)) holders.push(holder);
    else rmSync(file, { force: true });
  }
  return holders;
}

/** An agent's folder name: its name, with anything a file name should not hold replaced. */
function agentDir(dir: string, agent: string): string {
  return join(dir, agent.replace(/[^\w.-]/g, '_'));
}

function stopped(agent: string): Error {
  const error = new Error(`stopped waiting for a ${agent} slot (maxConcurrent).`);
  error.name = 'AbortError';
  return error;
}

/** This process's start, read once. */
let ownStart: { start: string | undefined } | undefined;
let slotCount = 0;

/**
 * Takes one of `max` slots of `agent` on this machine, waiting while all are taken (by this
 * process or any other). Resolves with the slot; rejects when `signal` aborts.
 */
export async function acquireSlot(agent: string, max: number, options: SlotOptions = {}): Promise<Slot> {
  if (!Number.isInteger(max) || max < 1) throw new Error(`maxConcurrent for ${agent} is a whole number of 1 or more (got ${max}).`);
  const dir = agentDir(options.dir ?? SLOTS_DIR, agent);
  mkdirSync(dir, { recursive: true });
  removeHeldOnExit();
  ownStart ??= { start: processStart(process.pid) };
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const began = Date.now();
  let waited = false;
  for (;;) {
    if (options.signal?.aborted) throw stopped(agent);
    const taken = await withLock(join(dir, '.lock'), async () => {
      const holders = liveHolders(dir);
      if (holders.length >= max) return holders;
      const file = join(dir, `${process.pid}-${slotCount++}.slot`);
      const holder: SlotHolder = {
        pid: process.pid,
        ...(ownStart?.start !== undefined ? { start: ownStart.start } : {}),
        ...(options.project ? { project: options.project } : {}),
        since: new Date().toISOString(),
      };
      writeFileSync(file, JSON.stringify(holder));
      held.add(file);
      return file;
    });
    if (typeof taken === 'string') {
      let released = false;
      return {
        waitedMs: Date.now() - began,
        release: () => {
          if (released) return;
          released = true;
          held.delete(taken);
          rmSync(taken, { force: true });
        },
      };
    }
    if (!waited) {
      waited = true;
      options.onWait?.(taken);
    }
    // Jitter, so that waiters in several processes do not all look at once.
    await abortableSleep(pollMs / 2 + Math.random() * pollMs, options.signal);
  }
}

function abortableSleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** The waiting message for the session's log. */
export function waitingForSlot(agent: string, max: number, holders: readonly SlotHolder[]): string {
  const who = holders.map((holder) => (holder.project ? `${holder.project} (pid ${holder.pid})` : `pid ${holder.pid}`)).join(', ');
  return `waiting for a ${agent} slot: maxConcurrent allows ${max} ${agent} session(s) at once on this machine, held by ${who}`;
}

function text(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * The `maxConcurrent` plugin option, checked: agent names mapped to whole numbers of 1 or
 * more (`{ "claude": 2 }`). `agents` are the known agent names, for the message on a misspelt one.
 */
export function checkMaxConcurrent(
  value: unknown,
  agents: readonly string[],
  where = 'nx.json (fanout plugin options)',
): { maxConcurrent: Record<string, number>; problems: string[] } {
  const maxConcurrent: Record<string, number> = {};
  const problems: string[] = [];
  if (value === undefined) return { maxConcurrent, problems };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(
      `${where}: "maxConcurrent" maps agent names to how many of their sessions run at once, e.g. { "claude": 2 } (got ${text(value)}).`,
    );
    return { maxConcurrent, problems };
  }
  for (const [agent, count] of Object.entries(value as Record<string, unknown>)) {
    if (!agents.includes(agent)) {
      problems.push(`${where}: "maxConcurrent" names an unknown agent "${agent}". Known: ${agents.join(', ')}.`);
      continue;
    }
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
      problems.push(`${where}: "maxConcurrent.${agent}" is a whole number of 1 or more, without quotes (got ${text(count)}).`);
      continue;
    }
    maxConcurrent[agent] = count;
  }
  return { maxConcurrent, problems };
}
