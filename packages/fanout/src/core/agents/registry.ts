import type { AgentAdapter, AgentSettings } from './agent';
import { aiderAgent } from './aider';
import { claudeAgent } from './claude';
import { codexAgent } from './codex';
import { commandAgent } from './command';
import { geminiAgent } from './gemini';
import { opencodeAgent } from './opencode';
import { patternAgent } from './pattern';

/** Every agent fanout knows, by the name used in fanout.md (`agent:`) and --agent. */
export const AGENTS: ReadonlyMap<string, AgentAdapter> = new Map(
  [patternAgent, commandAgent, claudeAgent, codexAgent, geminiAgent, opencodeAgent, aiderAgent].map((agent) => [agent.name, agent]),
);

export function resolveAgent(name: string, where: string): AgentAdapter {
  const agent = AGENTS.get(name);
  if (!agent) {
    throw new Error(`${where}: unknown agent "${name}". Known agents: ${[...AGENTS.keys()].join(', ')}.`);
  }
  return agent;
}

/**
 * The agent, once it is known to exist and to have what it needs: what a run
 * asks before it creates anything, so a bad setting costs no worktree.
 */
export function assertAgentReady(name: string, settings: AgentSettings, where: string): AgentAdapter {
  const agent = resolveAgent(name, where);
  const problem = agent.settingsProblem?.(settings);
  if (problem) throw new Error(`${where}: ${problem}`);
  return agent;
}
