import type { AgentAdapter } from './agent';
import { commandAgent } from './command';
import { patternAgent } from './pattern';

/** Every agent fanout knows, by the name used in fanout.md (`agent:`) and --agent. */
export const AGENTS: ReadonlyMap<string, AgentAdapter> = new Map(
  [patternAgent, commandAgent].map((agent) => [agent.name, agent]),
);

export function resolveAgent(name: string, where: string): AgentAdapter {
  const agent = AGENTS.get(name);
  if (!agent) {
    throw new Error(`${where}: unknown agent "${name}". Known agents: ${[...AGENTS.keys()].join(', ')}.`);
  }
  return agent;
}
