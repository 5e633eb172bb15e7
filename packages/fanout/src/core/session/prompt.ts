import { createHash } from 'crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'fs';
import { join, relative } from 'path';
import { ASSIGNMENT_OPENING } from '../agents/cache-prefix';

export interface ContextSources {
  workspaceRoot: string;
  /** Workspace-relative conventions files, in order (AGENTS.md). */
  conventions: readonly string[];
  contracts: { project: string; root: string; importPath: string };
  reference: { project: string; root: string };
}

export interface TaskBrief {
  project: string;
  projectRoot: string;
  scope: readonly string[];
  text: string;
  /** The reference's subject and this task's, when they differ: how to name things. */
  subjects?: { reference: string; task: string };
  /** Files outside the scope the session may edit to register its work, with their content at the session's start. */
  wired?: readonly { path: string; content: string }[];
}

/** The wired files' part of an assignment: which files, the one rule, and each file as it is. */
function wiredSection(wired: readonly { path: string; content: string }[]): string {
  if (wired.length === 0) return '';
  const files = wired.map(({ path, content }) => `### ${path}\n\n\`\`\`\n${content.replace(/\n$/, '')}\n\`\`\`\n`).join('\n');
  return (
    `You may also edit these files, outside your scope, to register your work: ${wired.map(({ path }) => path).join(', ')}. ` +
    `Add your entry next to the reference's (its import, its route, its list item), in the same form, and change nothing else in ` +
    `them: other sessions add theirs to the same files, and the edits are merged.\n\n${files}\n`
  );
}

export interface AssembledContext {
  /** Everything but the assignment: byte-identical for every session of a run. */
  base: string;
  baseHash: string;
  /** The base context, then the assignment: what an agent gets as one prompt. */
  prompt: string;
  /**
   * The assignment alone, for an agent that sends the base context apart as the run's
   * cache prefix (agents/cache-prefix.ts): it opens with ASSIGNMENT_OPENING, the same text in every session.
   */
  assignment: string;
}

const SOURCE = /\.(ts|tsx|js|jsx|mts|cts|json|md)$/;
const SKIP = new Set(['node_modules', 'dist', 'out-tsc', 'coverage', 'test-output', '.turbo']);

/** Source files of a project, sorted, workspace-relative. */
function projectSources(workspaceRoot: string, root: string): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir).sort()) {
      if (SKIP.has(entry)) continue;
      const path = join(dir, entry);
      const stats = statSync(path);
      if (stats.isDirectory()) walk(path);
      else if (SOURCE.test(entry)) files.push(relative(workspaceRoot, path).split('\\').join('/'));
    }
  };
  const src = join(workspaceRoot, root, 'src');
  if (existsSync(src)) walk(src);
  return files;
}

function fence(workspaceRoot: string, file: string): string {
  const text = readFileSync(join(workspaceRoot, file), 'utf-8');
  const language = file.endsWith('.md') ? 'markdown' : file.endsWith('.json') ? 'json' : 'ts';
  return `### ${file}\n\n\`\`\`${language}\n${text.replace(/\n$/, '')}\n\`\`\`\n`;
}

/** The base context (conventions, contracts, reference), the same for every session of a run. */
export function assembleBase(sources: ContextSources): { base: string; baseHash: string } {
  const { workspaceRoot, contracts, reference } = sources;
  const parts = ['# Shared context for every session of this fan-out\n'];
  for (const file of sources.conventions) {
    if (existsSync(join(workspaceRoot, file))) {
      parts.push(`## Conventions (${file})\n\n${readFileSync(join(workspaceRoot, file), 'utf-8').trim()}\n`);
    }
  }
  parts.push(
    `## Contracts: ${contracts.project} (${contracts.root})\n\n` +
      `Import every shared type, interface and helper from \`${contracts.importPath}\`. ` +
      `Never declare a copy of them. This library is read-only to you.\n`,
  );
  for (const file of projectSources(workspaceRoot, contracts.root)) parts.push(fence(workspaceRoot, file));
  parts.push(
    `## Reference implementation: ${reference.project} (${reference.root})\n\n` +
      `Follow it: same file layout, same exported symbols with its subject replaced by yours, same error handling, same tests. ` +
      `It is read-only to you.\n`,
  );
  for (const file of projectSources(workspaceRoot, reference.root)) parts.push(fence(workspaceRoot, file));
  const base = parts.join('\n');
  return { base, baseHash: createHash('sha256').update(base).digest('hex') };
}

/** The whole prompt: the base context, then this session's own assignment. */
export function assemblePrompt(base: { base: string; baseHash: string }, task: TaskBrief): AssembledContext {
  const scope = task.scope.map((entry) => (entry === '.' ? task.projectRoot : `${task.projectRoot}/${entry}`));
  const assignment =
    `\n# Your assignment: ${task.project} (${task.projectRoot})\n\n` +
    `You are one of several sessions running in parallel, in your own git worktree (the current directory). ` +
    `Write only inside: ${scope.join(', ')}. Changes anywhere else are rejected.\n\n` +
    (task.subjects && task.subjects.reference !== task.subjects.task
      ? `Name things as the reference does, with \`${task.subjects.reference}\` replaced by \`${task.subjects.task}\` in every spelling ` +
        `(kebab-case, camelCase, PascalCase, CONSTANT_CASE).\n\n`
      : '') +
    wiredSection(task.wired ?? []) +
    `${task.text.trim()}\n`;
  return { ...base, prompt: `${base.base}${assignment}`, assignment: `${ASSIGNMENT_OPENING}${assignment}` };
}
