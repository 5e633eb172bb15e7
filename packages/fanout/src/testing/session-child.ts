import { runAndLand } from './run-and-land';
import { sessionSpec } from './git-workspace';

/**
 * `node -r @swc-node/register session-child.ts <workspaceRoot> <project> <fanout.md text>`:
 * one session and its landing in a process of its own, for tests that interrupt or kill the
 * process running fanout. Prints the result as JSON when the session ends.
 */
const [root, project, fanoutMd] = process.argv.slice(2);
runAndLand(sessionSpec(root, project, fanoutMd)).then(
  (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
