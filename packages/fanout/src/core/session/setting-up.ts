import { AsyncResource } from 'async_hooks';

/**
 * The sessions of this process that are setting up: from their start to their
 * agent's. In a batch every session of the run shares one thread, and some work
 * that can wait holds it for long (loading the compiler for the checks: about half
 * a second); that work waits until no session is setting up, so that a batch's
 * sessions all start their agents first.
 *
 * Per-process state, on purpose: what it guards is the process's one thread, which
 * every session the process runs shares, whichever run it belongs to.
 */
const settingUp = new Set<object>();
let waiting: Array<() => void> = [];

/** Marks a session as setting up; the returned function ends that (calling it again does nothing). */
export function beginSetup(): () => void {
  const session = {};
  settingUp.add(session);
  return () => {
    if (!settingUp.delete(session) || settingUp.size > 0) return;
    const due = waiting;
    waiting = [];
    for (const start of due) start();
  };
}

/** How many sessions of this process are setting up. */
export function sessionsSettingUp(): number {
  return settingUp.size;
}

/**
 * Runs `work` on a later turn of the event loop once no session is setting up
 * (at once when none is); the returned function cancels it if it has not run.
 */
export function whenSetupsEnd(work: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  const start = () => {
    if (!cancelled) timer = setTimeout(work, 0);
  };
  if (settingUp.size === 0) start();
  // Run where it was asked for, not in the session whose setup ended last: its output and its errors are its own task's.
  else waiting.push(AsyncResource.bind(start));
  return () => {
    cancelled = true;
    if (timer) clearTimeout(timer);
  };
}
