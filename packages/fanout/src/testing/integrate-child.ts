import fs = require('fs');
import { applyChanges } from '../core/session/integrate';
import type { FileChange } from '../core/session/scope';

/**
 * `node -r @swc-node/register integrate-child.ts <workspaceRoot> <project> <worktree> <changes JSON> <fs function> <n> <where>`:
 * integrates `changes`, and kills itself with SIGKILL right after the n-th call of
 * the fs function (renameSync, openSync) whose destination is in the
 * workspace (`where`: workspace) or in fanout's staging area (staging): a crash
 * at an exact point of an integration, for recovery tests.
 */
const [workspaceRoot, project, worktree, changes, trapped, count, where] = process.argv.slice(2);
const original = (fs as unknown as Record<string, (...args: string[]) => unknown>)[trapped];
let calls = 0;
(fs as unknown as Record<string, unknown>)[trapped] = (...args: string[]) => {
  const result = original(...args);
  // The path the call creates: a rename's destination, or the file opened.
  const created = String(trapped === 'renameSync' ? args[1] : args[0]);
  const staging = created.includes('/.fanout/integration/');
  if ((where === 'staging') === staging && ++calls === Number(count)) process.kill(process.pid, 'SIGKILL');
  return result;
};
applyChanges(workspaceRoot, project, worktree, JSON.parse(changes) as FileChange[]);
process.stdout.write('integrated without being killed\n');
