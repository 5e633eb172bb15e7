import { join } from 'path';
import { cachePrefixSharing } from '../agents/cache-prefix';
import { acquireSlot, waitingForSlot, type Slot } from '../budget/concurrency';
import { describeWait } from '../budget/rate-limit';
import { takeLeadTurn, type LeadTurn } from './cache-prefix-lead';
import type { SessionContext } from './context';
import type { SessionRecorder } from './recorder';
import type { SessionSpec } from './session-spec';
import { FANOUT_DIR } from '../../constants';

/** Takes the session's turn in its run (the lead, or a wait for it), and says what came of it in the log. */
async function leadTurn(spec: SessionSpec, lead: NonNullable<SessionSpec['lead']>, recorder: SessionRecorder): Promise<LeadTurn> {
  const turn = await takeLeadTurn({
    dir: lead.dir ?? join(spec.workspaceRoot, FANOUT_DIR, 'lead'),
    run: lead.run,
    project: spec.project,
    waitMs: lead.waitMs,
    ...(spec.sleep ? { sleep: spec.sleep } : {}),
  });
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  if (turn.role === 'lead') recorder.say(`this session leads the run: the others start when its model's first response has begun`);
  else if (turn.role === 'alone') recorder.say(`the agent starts at once, without a lead session: ${turn.note}`);
  else if (turn.outcome === 'response')
    recorder.say(`waited ${seconds(turn.waitedMs)} for the lead session (${turn.lead}): its model's response has begun`);
  else if (turn.outcome === 'ended')
    recorder.say(`waited ${seconds(turn.waitedMs)} for the lead session (${turn.lead}): it ended before a response began`);
  else recorder.say(`waited ${seconds(turn.waitedMs)} for the lead session (${turn.lead}), the most it waits (leadWait); starting now`);
  return turn;
}

/**
 * One of the `maxConcurrent` slots of the session's agent on this machine (concurrency.ts), waited
 * for with the wait in the log. A session that waits longer than its timeout fails.
 */
async function takeSlot(spec: SessionSpec, agent: string, max: number, recorder: SessionRecorder): Promise<Slot> {
  const timeoutMs = spec.assignment.timeoutMs;
  let waited = false;
  try {
    const slot = await acquireSlot(agent, max, {
      project: spec.project,
      ...(spec.slotsDir ? { dir: spec.slotsDir } : {}),
      signal: AbortSignal.timeout(timeoutMs),
      onWait: (holders) => {
        waited = true;
        recorder.say(waitingForSlot(agent, max, holders));
      },
    });
    if (waited) recorder.say(`took a ${agent} slot after ${describeWait(slot.waitedMs)} (maxConcurrent)`);
    return slot;
  } catch (error) {
    if ((error as Error).name !== 'AbortError') throw error;
    throw new Error(
      `no ${agent} slot came free within the session's timeout (${describeWait(timeoutMs)}): maxConcurrent allows ${max} ${agent} ` +
        `session(s) at once on this machine. Raise maxConcurrent.${agent} in the plugin options, or the timeout, or run fewer sessions at once.`,
    );
  }
}

/** The session's turn: its part in the lead design, and the slot it holds until its last round ends (release it then). */
export interface SessionTurn {
  lead: LeadTurn | undefined;
  release(): void;
}

/**
 * Waits until the session's agent may start: the stagger (`startDelayMs`), a slot of its agent
 * where `maxConcurrent` limits it, then, for an agent whose sessions share one cache prefix, the
 * run's lead session (cache-prefix-lead.ts). `lead` is undefined when the session neither leads
 * nor waits for a lead.
 */
export async function waitTurn(spec: SessionSpec, context: SessionContext, recorder: SessionRecorder): Promise<SessionTurn> {
  if (spec.startDelayMs && spec.startDelayMs > 0) {
    recorder.say(`the agent starts in ${(spec.startDelayMs / 1000).toFixed(1)} s (stagger)`);
    await (spec.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))))(spec.startDelayMs);
  }
  const { agent, options, baseEnv } = context;
  recorder.model(options.model);
  const slot = spec.maxConcurrent ? await takeSlot(spec, agent.name, spec.maxConcurrent, recorder) : undefined;
  try {
    const lead = spec.lead && spec.lead.waitMs > 0 ? spec.lead : undefined;
    const sharing = lead ? cachePrefixSharing(agent, { workspaceRoot: spec.workspaceRoot, env: baseEnv, options }) : undefined;
    if (sharing?.blocker) recorder.sayOncePerProcess(sharing.blocker);
    const turn = lead && sharing?.shared ? await leadTurn(spec, lead, recorder) : undefined;
    recorder.lead(turn);
    recorder.time('waitMs');
    return { lead: turn, release: () => slot?.release() };
  } catch (error) {
    slot?.release();
    throw error;
  }
}
