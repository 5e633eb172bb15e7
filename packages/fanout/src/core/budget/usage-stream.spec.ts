import { approxTokens } from './token-count';
import { claudeUsageReader, codexUsageReader, usageReaderFor } from './usage-stream';

describe('claudeUsageReader', () => {
  it("adds each message's usage once, however many events repeat it, and however the stream is cut", () => {
    const read = claudeUsageReader();
    const event = (id: string, output: number) =>
      JSON.stringify({
        type: 'assistant',
        message: {
          id,
          usage: { input_tokens: 10, cache_creation_input_tokens: 1000, cache_read_input_tokens: 5000, output_tokens: output },
        },
      });
    const stream = `${event('msg_1', 5)}\n${event('msg_1', 40)}\n{"type":"user"}\n${event('msg_2', 7)}\n`;
    const cut = Math.floor(stream.length / 2);
    const deltas = [...read(stream.slice(0, cut)), ...read(stream.slice(cut))];
    const total = deltas.reduce<{ input: number; output: number; cacheRead: number; cacheWrite: number }>(
      (sum, delta) => ({
        input: sum.input + (delta.input ?? 0),
        output: sum.output + (delta.output ?? 0),
        cacheRead: sum.cacheRead + (delta.cacheRead ?? 0),
        cacheWrite: sum.cacheWrite + (delta.cacheWrite ?? 0),
      }),
      { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    );
    // Two messages: each 6,010 prompt tokens; 40 and 7 output tokens.
    expect(total).toEqual({ input: 12_020, output: 47, cacheRead: 10_000, cacheWrite: 2_000 });
    expect(read('not json\n{"type":"result","usage":{"input_tokens":1}}\n')).toEqual([]);
  });

  it("counts what a message writes as it streams, where its events carry only the API's opening output count", () => {
    const read = claudeUsageReader();
    const prose = 'Adding a summary of each order record, with its id and name. '.repeat(50);
    const input = { file_path: '/w/orders.summary.ts', content: 'export function summarizeOrder(order: Order): string {}\n'.repeat(40) };
    const event = (block: Record<string, unknown>) =>
      `${JSON.stringify({ type: 'assistant', message: { id: 'msg_1', content: [block], usage: { input_tokens: 100, output_tokens: 1 } } })}\n`;
    const text = read(event({ type: 'text', text: prose }));
    expect(text).toEqual([{ input: 100, output: approxTokens(prose), cacheRead: 0, cacheWrite: 0 }]);
    const tool = read(event({ type: 'tool_use', id: 'toolu_1', name: 'Write', input }));
    expect(tool).toEqual([{ input: 0, output: approxTokens(`Write${JSON.stringify(input)}`), cacheRead: 0, cacheWrite: 0 }]);
    // The same block again adds nothing; the message's own count, once larger, takes over.
    expect(read(event({ type: 'tool_use', id: 'toolu_1', name: 'Write', input }))).toEqual([]);
    const counted = approxTokens(prose) + approxTokens(`Write${JSON.stringify(input)}`);
    const final = JSON.stringify({
      type: 'assistant',
      message: { id: 'msg_1', content: [], usage: { input_tokens: 100, output_tokens: counted + 500 } },
    });
    expect(read(`${final}\n`)).toEqual([{ input: 0, output: 500, cacheRead: 0, cacheWrite: 0 }]);
  });
});

describe('codexUsageReader', () => {
  it("returns each turn's usage, and only what is new in a resumed conversation's running totals", () => {
    const turn = (input: number, output: number) =>
      `${JSON.stringify({ type: 'turn.completed', usage: { input_tokens: input, cached_input_tokens: input / 2, output_tokens: output } })}\n`;
    expect(codexUsageReader()(`{"type":"thread.started"}\n${turn(1000, 100)}`)).toEqual([
      { input: 1000, output: 100, cacheRead: 500, cacheWrite: 0 },
    ]);
    const resumed = codexUsageReader({ input: 1000, output: 100, cacheRead: 500 });
    expect(resumed(turn(3000, 250))).toEqual([{ input: 2000, output: 150, cacheRead: 1000, cacheWrite: 0 }]);
  });
});

describe('usageReaderFor', () => {
  it('has a reader for the agents that stream their usage, and none for the others', () => {
    expect(usageReaderFor('claude')).toBeDefined();
    expect(usageReaderFor('codex')).toBeDefined();
    expect(usageReaderFor('gemini')).toBeUndefined();
  });
});
