import type { AgentTokens } from '../agents/agent';
import { approxTokens } from './token-count';

/**
 * Usage as an agent's CLI streams it, for the run's ledger while the session runs. Each
 * reader takes stdout as it arrives (pieces that may split a line) and returns the usage
 * that arrived since the last call. Agents without a reader report their usage only at the
 * end; their whole usage goes to the ledger then (BudgetGuard.settle).
 */
export type UsageReader = (chunk: string) => AgentTokens[];

/** Splits a stream into complete lines, keeping the unfinished one for the next chunk. */
function lineSplitter(): (chunk: string) => string[] {
  let pending = '';
  return (chunk) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    // A partial line this long is a message's content, not a usage event: drop it rather than grow.
    if (pending.length > 4 * 1024 * 1024) pending = '';
    return lines;
  };
}

function parseLine(line: string): Record<string, unknown> | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/**
 * The output a message has streamed so far, counted from its content blocks (text, thinking, a
 * tool call's input), each counted once. Claude Code's events carry the usage of the API's
 * message_start, whose output count is 1: the message's real output count arrives only with its
 * end, after the events. Counting what was written is what stops a session at the cap while it
 * writes, rather than only once its CLI reports the whole.
 */
function contentTokens(written: Map<string, { tokens: number; blocks: Set<string> }>, id: string, content: unknown): number {
  const own = written.get(id) ?? { tokens: 0, blocks: new Set<string>() };
  written.set(id, own);
  for (const block of Array.isArray(content) ? content : []) {
    const entry = record(block);
    const text =
      typeof entry['text'] === 'string'
        ? entry['text']
        : typeof entry['thinking'] === 'string'
          ? entry['thinking']
          : entry['type'] === 'tool_use'
            ? `${String(entry['name'] ?? '')}${JSON.stringify(entry['input'] ?? {})}`
            : '';
    if (text === '') continue;
    const key = `${String(entry['type'] ?? '')}:${typeof entry['id'] === 'string' ? entry['id'] : `${text.length}:${text.slice(0, 200)}`}`;
    if (own.blocks.has(key)) continue;
    own.blocks.add(key);
    own.tokens += approxTokens(text);
  }
  return own.tokens;
}

/**
 * Claude Code's `--output-format stream-json`: each `assistant` event carries its API
 * message's usage (`message.usage`). One message comes as several events, one per content
 * block, each repeating the message's id and usage as counted so far: the reader keeps the
 * largest figure seen per message and returns what grew. Input counts every prompt token
 * (uncached, written to the cache, read from it), as parseClaudeOutput does.
 */
export function claudeUsageReader(): UsageReader {
  const lines = lineSplitter();
  const seen = new Map<string, Required<AgentTokens>>();
  const written = new Map<string, { tokens: number; blocks: Set<string> }>();
  let anonymous = 0;
  return (chunk) => {
    const deltas: AgentTokens[] = [];
    for (const line of lines(chunk)) {
      const event = parseLine(line);
      if (event?.['type'] !== 'assistant') continue;
      const message = record(event['message']);
      const usage = record(message['usage']);
      if (Object.keys(usage).length === 0) continue;
      const id = typeof message['id'] === 'string' ? message['id'] : `anonymous-${anonymous++}`;
      const cacheWrite = count(usage['cache_creation_input_tokens']);
      const cacheRead = count(usage['cache_read_input_tokens']);
      const now = {
        input: count(usage['input_tokens']) + cacheWrite + cacheRead,
        output: Math.max(count(usage['output_tokens']), contentTokens(written, id, message['content'])),
        cacheRead,
        cacheWrite,
      };
      const before = seen.get(id) ?? { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 };
      const grown = {
        input: Math.max(0, now.input - before.input),
        output: Math.max(0, now.output - before.output),
        cacheRead: Math.max(0, now.cacheRead - before.cacheRead),
        cacheWrite: Math.max(0, now.cacheWrite - before.cacheWrite),
      };
      seen.set(id, {
        input: Math.max(now.input, before.input),
        output: Math.max(now.output, before.output),
        cacheRead: Math.max(now.cacheRead, before.cacheRead),
        cacheWrite: Math.max(now.cacheWrite, before.cacheWrite),
      });
      if (grown.input + grown.output > 0) deltas.push(grown);
    }
    return deltas;
  };
}

/**
 * `codex exec --json`: each `turn.completed` event carries the turn's usage (`input_tokens`
 * with the cached ones, reported apart as `cached_input_tokens`). A resumed conversation
 * (`codex exec resume`, a repair round) reports the conversation's running totals: given what
 * the earlier rounds used, the reader returns only what is new.
 */
export function codexUsageReader(usedBefore?: AgentTokens): UsageReader {
  const lines = lineSplitter();
  let earlier = usedBefore ? { ...usedBefore } : undefined;
  return (chunk) => {
    const deltas: AgentTokens[] = [];
    for (const line of lines(chunk)) {
      const event = parseLine(line);
      if (event?.['type'] !== 'turn.completed') continue;
      const usage = record(event['usage']);
      let turn: Required<AgentTokens> = {
        input: count(usage['input_tokens']),
        output: count(usage['output_tokens']),
        cacheRead: count(usage['cached_input_tokens']),
        cacheWrite: count(usage['cache_write_input_tokens']),
      };
      if (earlier) {
        const less = (key: keyof AgentTokens) => Math.max(0, turn[key] - (earlier?.[key] ?? 0));
        turn = { input: less('input'), output: less('output'), cacheRead: less('cacheRead'), cacheWrite: less('cacheWrite') };
        earlier = undefined;
      }
      if (turn.input + turn.output > 0) deltas.push(turn);
    }
    return deltas;
  };
}

/** The reader for an agent's stream; undefined for agents that report usage only at the end. */
export function usageReaderFor(agent: string, usedBefore?: AgentTokens): UsageReader | undefined {
  if (agent === 'claude') return claudeUsageReader();
  if (agent === 'codex') return codexUsageReader(usedBefore);
  return undefined;
}
