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
