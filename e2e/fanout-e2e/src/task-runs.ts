/**
 * What Nx's terminal output (run-many, without the TUI) says of one task: Nx prints
 * `nx run <project>:<target>` for each task, followed by a marker when it replayed the
 * task from a cache instead of running it.
 */

const MARKERS = {
  '[local cache]': 'local',
  '[existing outputs match the cache, left as is]': 'local',
  '[remote cache]': 'remote',
} as const;

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Where Nx replayed the task from, or undefined when it did not replay it. */
export function replayedFrom(output: string, taskId: string): 'local' | 'remote' | undefined {
  for (const [marker, where] of Object.entries(MARKERS)) {
    if (new RegExp(`nx run ${escape(taskId)}\\s+${escape(marker)}`).test(output)) return where;
  }
  return undefined;
}

/**
 * Whether Nx printed the task with no cache marker: it ran it. Nx prints `> nx run <task>`
 * before a task's output, or `✔  nx run <task>` (perhaps with its duration) for one whose
 * output it folds away.
 */
export function printedAsRun(output: string, taskId: string): boolean {
  return (
    new RegExp(`nx run ${escape(taskId)}(?:[ \\t]+\\([^)\\n]*\\))?[ \\t]*$`, 'm').test(output) && replayedFrom(output, taskId) === undefined
  );
}
