import { rmSync } from 'fs';
import { ownedByFanout } from '../landing/landed';
import { assertSessionName } from '../naming/names';
import { prepareContext, readTask, type SessionContext, type SessionTask } from './context';
import { recoverUnfinished, refuseUsersWorkInScope } from './integrate';
import { waitTurn, type SessionTurn } from './wait-turn';
import { SessionRecorder } from './recorder';
import { recordWork } from './record-work';
import { runRounds } from './repair';
import type { SessionResult } from './result';
import { beginSetup } from './setting-up';
import type { SessionSpec } from './session-spec';
import { createWorktree, removeWorktree, type Worktree } from './worktree';
import { sessionDir } from '../../constants';

export { sessionDir };

/** `--fresh`: forgets earlier sessions of a task: its kept worktree and branch, its prompt, log and result. */
export async function discardSession(workspaceRoot: string, project: string): Promise<void> {
  await removeWorktree(workspaceRoot, project);
  rmSync(sessionDir(workspaceRoot, project), { recursive: true, force: true });
}

/** The session's worktree, made once no killed run's integration is left half done. */
async function makeWorktree(spec: SessionSpec, task: SessionTask, context: SessionContext, recorder: SessionRecorder): Promise<Worktree> {
  for (const project of await recoverUnfinished(spec.workspaceRoot))
    recorder.say(`undid the unfinished integration of ${project} that a killed run left`);
  const { roots, readOnly } = task.scope;
  // Refused, before anything is made, while uncommitted changes of the user's lie inside the scope.
  const worktree = await createWorktree(spec.workspaceRoot, spec.project, spec.copyFiles, spec.sparse, {
    paths: roots,
    check: (dirty) => refuseUsersWorkInScope(spec.workspaceRoot, dirty, roots, readOnly, task.owned),
  });
  recorder.time('worktreeMs');
  recorder.say(
    `worktree ${worktree.path} on ${worktree.branch}${worktree.sparse ? ' (sparse: projects it does not need left out)' : ''}, ` +
      `agent ${context.agent.name}, ports from ${spec.portBase}`,
  );
  return worktree;
}

/**
 * The session's setting up: its context, then its worktree. Until it ends (or fails),
 * the checks' warm-up of every session of this process waits (setting-up.ts).
 */
async function setUp(
  spec: SessionSpec,
  task: SessionTask,
  recorder: SessionRecorder,
  prepared: (context: SessionContext) => void,
): Promise<{ context: SessionContext; worktree: Worktree }> {
  const endSetup = beginSetup();
  try {
    const context = prepareContext(spec, task, recorder);
    prepared(context);
    // Sandboxed, the agent's runner loads and sets up the sandbox while the worktree is made.
    context.sandbox?.prestart(context.baseEnv);
    return { context, worktree: await makeWorktree(spec, task, context, recorder) };
  } finally {
    endSetup();
  }
}

/**
 * One task, start to end: its context, a worktree, the agent's turn, its rounds
 * (the agent, then the scope, the checks and the gate, repaired while rounds are
 * left), then its record for the fanout target to land, and result.json. Never
 * throws for a failure of the session itself: it is recorded in the result.
 */
export async function runSession(spec: SessionSpec): Promise<SessionResult> {
  assertSessionName(spec.project);
  const landed = ownedByFanout(spec.workspaceRoot, spec.project);
  const recorder = await SessionRecorder.open(spec);
  const task = readTask(spec, landed);
  let worktree: Worktree | undefined;
  let context: SessionContext | undefined;
  let turn: SessionTurn | undefined;
  try {
    const setup = await setUp(spec, task, recorder, (made) => (context = made));
    worktree = setup.worktree;
    turn = await waitTurn(spec, setup.context, recorder);
    const work = await runRounds({ spec, task, context: setup.context, worktree, turn: turn.lead, recorder });
    // The agent's last round has ended: its maxConcurrent slot is free for another session.
    turn.release();
    if (!work) return recorder.finish(worktree);
    await recordWork(spec, task, worktree, work, recorder);
    recorder.time('integrateMs');
    await removeWorktree(spec.workspaceRoot, spec.project, spec.cleanUpLater);
    recorder.time('worktreeMs');
    // Sandboxed, the CLI's conversation lives in the sandbox's private folder: kept for fanout-verify's
    // repairs of the whole, which resume it.
    if (spec.keepConversation && setup.context.agent.repair === 'resume' && recorder.hasConversation) {
      const kept = setup.context.sandbox?.keepState();
      if (kept) recorder.keptState(kept);
    }
    return recorder.finish();
  } catch (error) {
    recorder.thrown(error);
    return recorder.finish(worktree);
  } finally {
    (turn as SessionTurn | undefined)?.release();
    // The sandbox's private folder (temp files, the CLI's state) goes with the session.
    (context as SessionContext | undefined)?.sandbox?.close();
  }
}
