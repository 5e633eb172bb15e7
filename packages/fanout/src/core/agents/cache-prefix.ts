import { writeFileSync } from 'fs';
import { join } from 'path';
import type { AgentAdapter, AgentPreflight, AgentSession } from './agent';
import type { AgentOptions } from './agent-options';

/**
 * The cache prefix: the run's base context (conventions, contracts, reference), sent by
 * every session of the run as the same bytes ahead of anything of its own, so that the
 * provider's prompt cache holds it once and every session reads it from there. An agent
 * that can send the base context apart (Claude Code, in its system prompt) shares it;
 * the sessions then wait for a lead session's first response (session/cache-prefix-lead.ts)
 * so that they find it in the cache.
 */

/** The prompt in two parts, outside the worktree: the base context (the cache prefix) and the assignment alone. */
export interface CachePrefixFiles {
  baseFile: string;
  assignmentFile: string;
}

/**
 * The first line of an assignment sent apart from the base context. Claude Code
 * fingerprints a few characters of the first 21 of the user's prompt into its system prompt
 * (the `cc_version` of its billing header), so every session's prompt opens the same way:
 * else that block, which comes before the base context, would differ between sessions.
 */
export const ASSIGNMENT_OPENING = 'The shared context of this fan-out (conventions, contracts, reference) is in your system prompt.\n';

/** Writes the prompt's two parts into the session's folder (`base.md`, `assignment.md`). */
export function writeCachePrefixFiles(dir: string, base: string, assignment: string): CachePrefixFiles {
  const files = { baseFile: join(dir, 'base.md'), assignmentFile: join(dir, 'assignment.md') };
  writeFileSync(files.baseFile, base);
  writeFileSync(files.assignmentFile, assignment);
  return files;
}

/** The session's two prompt parts, whichever field the session was given them in. */
export function cachePrefixFiles(session: Pick<AgentSession, 'cachePrefix'>): CachePrefixFiles | undefined {
  return session.cachePrefix;
}

/**
 * Whether the run's sessions share one cache prefix with this agent and its options. When
 * the agent would, but the CLI installed here cannot (a version that puts per-session text
 * before the base context), `blocker` says why, for people.
 */
export function cachePrefixSharing(agent: AgentAdapter, context: AgentPreflight): { shared: boolean; blocker?: string } {
  if (agent.sharesCachePrefix?.(context.options) !== true) return { shared: false };
  const blocker = agent.cachePrefixBlocker?.(context);
  return blocker ? { shared: false, blocker } : { shared: true };
}

/** What a CLI agent's description says about the cache prefix. */
interface CachePrefixCli {
  name: string;
  title: string;
  sharesCachePrefix?(options: AgentOptions): boolean;
}

/** Whether this session's CLI gets the base context apart from the assignment, as the cache prefix. */
export function sendsCachePrefix(cli: CachePrefixCli, session: Pick<AgentSession, 'cachePrefix' | 'options'>): boolean {
  return cachePrefixFiles(session) !== undefined && cli.sharesCachePrefix?.(session.options) === true;
}

/** The session log's line on where the base context goes; undefined for a session given the prompt whole. */
export function cachePrefixNote(cli: CachePrefixCli, session: Pick<AgentSession, 'cachePrefix' | 'options'>): string | undefined {
  if (!cachePrefixFiles(session)) return undefined;
  return sendsCachePrefix(cli, session)
    ? `${cli.name}: the base context goes in the system prompt, the assignment alone in the prompt: every session of the run sends the same prefix`
    : `${cli.name}: the base context goes in the prompt, ahead of the assignment: ${cli.title} ${cli.sharesCachePrefix ? 'was told not to take it apart (options)' : 'cannot take it apart'}, so sessions share no cache prefix beyond its own`;
}
