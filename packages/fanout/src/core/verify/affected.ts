import { spawn } from 'child_process';
import { existsSync, mkdirSync, rmSync } from 'fs';
import { join, relative } from 'path';
import { PASSED, readTaskProfile, taskOutputs } from '../session/gate';
import { withoutOuterTask } from '../system/nx-env';
import type { FailedTask } from './attribution';
import { FANOUT_DIR } from '../../constants';

/** How much of `nx affected`'s output is kept for the report and the attribution: its end. */
const KEPT_OUTPUT_CHARS = 200_000;

export interface AffectedRun {
  command: string;
  ok: boolean;
  output: string;
  /**
   * The tasks that ran and failed, each with its own part of the output. Empty when nx
   * failed before running any task (its own words are then in `output`).
   */
  failed: FailedTask[];
}

/** The nx of the workspace, or npx's. */
function nxProgram(workspaceRoot: string, args: readonly string[]): [string, string[]] {
  const local = join(workspaceRoot, 'node_modules', '.bin', 'nx');
  return existsSync(local) ? [local, [...args]] : ['npx', ['nx', ...args]];
}

/**
 * Runs nx in the workspace with `args` (static output: each task's output whole under
 * its `> nx run` heading), shown as it comes; which tasks failed is read from Nx's task
 * profile (NX_PROFILE), each one's output from its part of the output.
 */
export function runNx(workspaceRoot: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<AffectedRun> {
  const dir = join(workspaceRoot, FANOUT_DIR, 'verify');
  mkdirSync(dir, { recursive: true });
  const profile = join(dir, 'affected-profile.json');
  rmSync(profile, { force: true });
  const [program, argv] = nxProgram(workspaceRoot, args);
  const childEnv = { ...withoutOuterTask(env), NX_TUI: 'false', NX_PROFILE: relative(workspaceRoot, profile) };
  return new Promise((resolve) => {
    const child = spawn(program, argv, { cwd: workspaceRoot, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let output = '';
    const keep = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      stream.write(chunk);
      const text = chunk.toString('utf-8');
      // Both streams, in the order they came: a task's output may reach either.
      stdout = (stdout + text).slice(-4 * KEPT_OUTPUT_CHARS);
      output = (output + text).slice(-KEPT_OUTPUT_CHARS);
    };
    child.stdout.on('data', (chunk: Buffer) => keep(chunk, process.stdout));
    child.stderr.on('data', (chunk: Buffer) => keep(chunk, process.stderr));
    const command = `nx ${args.join(' ')}`;
    child.on('error', (error) => resolve({ command, ok: false, output: `could not start nx: ${error.message}`, failed: [] }));
    child.on('close', (code) => {
      const tasks = readTaskProfile(profile);
      rmSync(profile, { force: true });
      const outputs = taskOutputs(stdout);
      const failed: FailedTask[] = [];
      for (const [id, task] of tasks ?? []) {
        if (PASSED.has(task.status) || task.status === 'skipped') continue;
        const colon = id.lastIndexOf(':');
        // A task id is project:target (a configuration, project:target:configuration, counts as its target).
        const first = id.indexOf(':', id.startsWith('@') ? id.indexOf('/') : 0);
        const project = first > 0 ? id.slice(0, first) : id.slice(0, colon);
        failed.push({ project, target: id.slice(project.length + 1), output: outputs.get(id) ?? '' });
      }
      resolve({ command, ok: code === 0, output, failed });
    });
  });
}
