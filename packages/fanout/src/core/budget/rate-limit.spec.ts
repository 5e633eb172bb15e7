import {
  describeWait,
  MAX_HONOURED_WAIT_MS,
  parseRetryAfter,
  parseWaitPhrase,
  readRateLimit,
  retryDelay,
  waitingMessage,
} from './rate-limit';

const NOW = Date.parse('2026-12-06T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads seconds, and an HTTP date from now', () => {
    expect(parseRetryAfter('30', NOW)).toBe(30_000);
    expect(parseRetryAfter('1.5', NOW)).toBe(1_500);
    expect(parseRetryAfter('Sun, 06 Dec 2026 12:02:00 GMT', NOW)).toBe(120_000);
    expect(parseRetryAfter('Sun, 06 Dec 2026 11:00:00 GMT', NOW)).toBeUndefined();
    expect(parseRetryAfter('soon', NOW)).toBeUndefined();
  });
});

describe('parseWaitPhrase', () => {
  it("reads OpenAI's and Codex's ways of saying a wait", () => {
    expect(parseWaitPhrase('20s')).toBe(20_000);
    expect(parseWaitPhrase('1.242s')).toBe(1_242);
    expect(parseWaitPhrase('250ms')).toBe(250);
    expect(parseWaitPhrase('6m0s')).toBe(360_000);
    expect(parseWaitPhrase('1h2m3s')).toBe(3_723_000);
    expect(parseWaitPhrase('2 seconds')).toBe(2_000);
    expect(parseWaitPhrase('a moment')).toBeUndefined();
  });
});

describe('readRateLimit', () => {
  it('reads a retry-after header or field, in seconds or as a date', () => {
    expect(readRateLimit('HTTP 429 Too Many Requests\nretry-after: 17\n', NOW)).toEqual({
      status: 429,
      retryAfterMs: 17_000,
      source: 'retry-after',
    });
    expect(readRateLimit('{"status": 529, "headers": {"retry-after": "Sun, 06 Dec 2026 12:00:45 GMT"}}', NOW)).toEqual({
      status: 529,
      retryAfterMs: 45_000,
      source: 'retry-after',
    });
    expect(readRateLimit('{"error":{"type":"rate_limit_error"},"retry_after": 12}', NOW)).toEqual({
      status: 429,
      retryAfterMs: 12_000,
      source: 'retry-after',
    });
    expect(readRateLimit('retry-after-ms: 800\nstatus 429', NOW)).toEqual({ status: 429, retryAfterMs: 800, source: 'retry-after-ms' });
  });

  it("reads what Claude Code last waited in its own retries, and the final error's status", () => {
    const output = [
      '{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":500,"error_status":429,"error":"rate_limit"}',
      '{"type":"system","subtype":"api_retry","attempt":2,"max_retries":10,"retry_delay_ms":30000,"error_status":429,"error":"rate_limit"}',
      '{"type":"result","subtype":"success","is_error":true,"api_error_status":429,"result":"API Error: Request rejected (429) · this may be a temporary capacity issue."}',
    ].join('\n');
    expect(readRateLimit(output, NOW)).toEqual({ status: 429, retryAfterMs: 30_000, source: 'api_retry' });
  });

  it('reads Codex\'s final error and its "try again in"', () => {
    const output =
      '{"type":"turn.failed","error":{"message":"rate limit exceeded: Rate limit reached for gpt-5.5 on tokens per min (TPM): Limit 30000, Used 29000, Requested 4000. Please try again in 6.5s."}}';
    expect(readRateLimit(output, NOW)).toEqual({ status: 429, retryAfterMs: 6_500, source: 'try again in' });
    expect(
      readRateLimit('{"type":"turn.failed","error":{"message":"exceeded retry limit, last status: 429 Too Many Requests"}}', NOW),
    ).toEqual({
      status: 429,
    });
  });

  it('says nothing of output that mentions no limit', () => {
    expect(readRateLimit('Edited src/index.ts\nAll tests pass.', NOW)).toBeUndefined();
  });
});

describe('retryDelay', () => {
  const base = { attempt: 2, baseMs: 15_000, capMs: 300_000, remainingMs: 600_000 };

  it('backs off with full jitter when the provider asked for no wait', () => {
    expect(retryDelay({ ...base, random: () => 0.5 })).toEqual({ waitMs: 15_000 });
    expect(retryDelay({ ...base, attempt: 10, random: () => 0.999 })).toEqual({ waitMs: 299_700 });
  });

  it('waits at least what the provider asked, with a jitter on top, never less', () => {
    const signal = { status: 429, retryAfterMs: 40_000, source: 'retry-after' };
    expect(retryDelay({ ...base, signal, random: () => 0 })).toEqual({ waitMs: 40_000 });
    expect(retryDelay({ ...base, signal, random: () => 0.5 })).toEqual({ waitMs: 44_000 });
    // A short ask still gets a second of jitter at most.
    expect(retryDelay({ ...base, signal: { retryAfterMs: 1_000, source: 'retry-after' }, random: () => 0.99 })).toEqual({ waitMs: 1_990 });
  });

  it('gives up on a wait the session has no time for, or one so long it is a usage limit', () => {
    const signal = { status: 429, retryAfterMs: 120_000, source: 'retry-after' };
    expect(retryDelay({ ...base, signal, remainingMs: 60_000, random: () => 0 })).toEqual({
      giveUp: "the provider asks to wait 2 min 0 s (retry-after), and the session's timeout leaves 1 min 0 s.",
    });
    expect(retryDelay({ ...base, remainingMs: 1_000, random: () => 0.5 }).giveUp).toBe(
      "the session's timeout leaves 1.0 s, too little to try again.",
    );
    expect(
      retryDelay({
        ...base,
        signal: { retryAfterMs: MAX_HONOURED_WAIT_MS + 1, source: 'retry-after' },
        remainingMs: Infinity,
        random: () => 0,
      }).giveUp,
    ).toContain('a usage limit rather than a rate limit');
  });
});

describe('waitingMessage', () => {
  it('says what happened, how long the session waits, and why that long', () => {
    expect(waitingMessage('claude', 1, 44_000, { status: 429, retryAfterMs: 40_000, source: 'retry-after' })).toBe(
      'claude was rate-limited (429) on attempt 1; waiting 44.0 s, as the provider asked (retry-after: 40.0 s) before attempt 2',
    );
    expect(waitingMessage('codex', 2, 200_000)).toBe(
      'codex was rate-limited or overloaded on attempt 2; waiting 3 min 20 s before attempt 3',
    );
    expect(describeWait(3_900_000)).toBe('1 h 5 min');
  });
});
