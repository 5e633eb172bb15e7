/**
 * Rate limits (HTTP 429) and an overloaded API (529, 503): what the agent's CLI printed about
 * it, how long to wait before its next attempt, and the line that says so in the session log.
 *
 * The CLIs retry first, each on its own, within one conversation:
 * - Claude Code retries a failed API request up to 10 times (CLAUDE_CODE_MAX_RETRIES, at most
 *   15), waiting what the API's `retry-after` asks, and reports each retry in its stream-json
 *   output as `{"type":"system","subtype":"api_retry","retry_delay_ms":…,"error_status":429}`.
 * - Codex retries a request 4 times and a broken stream 5 (`request_max_retries`,
 *   `stream_max_retries` in its config.toml), waiting what "try again in 20s" in the error asks.
 * So when a CLI gives up, it has waited out its own retries already: fanout's next attempt
 * (a whole new run of the CLI) waits at least what the provider last asked for, never less.
 */

export interface RateLimitSignal {
  /** 429 (rate limit), 529 (overloaded), 503 (unavailable); undefined where the text names no status. */
  status?: number;
  /** How long the provider asked to wait, where the output says so. */
  retryAfterMs?: number;
  /** Where the wait was read, for the log: "retry-after", "api_retry", "try again in". */
  source?: string;
}

/** The most a single wait may be when the output gives no reset time: a longer one is a usage limit, not a rate limit. */
export const MAX_HONOURED_WAIT_MS = 60 * 60_000;

/**
 * A `retry-after` value: seconds (`30`, `1.5`), or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`)
 * counted from `now`. Undefined when it is neither, or lies in the past.
 */
export function parseRetryAfter(value: string, now: number = Date.now()): number | undefined {
  const trimmed = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  if (!/[a-z]/i.test(trimmed)) return undefined;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  const wait = at - now;
  return wait > 0 ? wait : undefined;
}

/** "20s", "1.5s", "250ms", "6m0s", "1h2m3s", "2 seconds": OpenAI's and Codex's way of saying a wait. */
export function parseWaitPhrase(phrase: string): number | undefined {
  const trimmed = phrase.trim().toLowerCase();
  const ms = /^(\d+(?:\.\d+)?)\s*ms$/.exec(trimmed);
  if (ms) return Math.round(Number(ms[1]));
  const words = /^(\d+(?:\.\d+)?)\s*(seconds?|secs?|minutes?|mins?)$/.exec(trimmed);
  if (words) return Math.round(Number(words[1]) * (words[2].startsWith('m') ? 60_000 : 1000));
  const clock = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$/.exec(trimmed);
  if (!clock || (clock[1] === undefined && clock[2] === undefined && clock[3] === undefined)) return undefined;
  return Math.round(((Number(clock[1] ?? 0) * 60 + Number(clock[2] ?? 0)) * 60 + Number(clock[3] ?? 0)) * 1000);
}

/**
 * What an attempt's output (stdout and stderr, as the CLI printed them) says about a rate
 * limit: the status, and the wait the provider asked for, from (in this order of trust) a
 * `retry-after` header or field, Claude Code's last `api_retry` event, or a "try again in …"
 * message. Undefined when it says nothing of either.
 */
export function readRateLimit(output: string, now: number = Date.now()): RateLimitSignal | undefined {
  let status: number | undefined;
  const statusMatch =
    /"(?:api_error_status|error_status|status)"\s*:\s*(429|529|503)\b/.exec(output) ??
    /\b(?:status|API Error:|Request rejected \(|last status:)\s*(429|529|503)\b/i.exec(output) ??
    /\b(429|529) (?:Too Many Requests|Overloaded)\b/i.exec(output);
  if (statusMatch) status = Number(statusMatch[1]);
  else if (/rate_limit_error|rate limit exceeded|rate_limit_exceeded/i.test(output)) status = 429;
  else if (/overloaded_error/.test(output)) status = 529;

  let retryAfterMs: number | undefined;
  let source: string | undefined;
  const headerMs = /\bretry-after-ms["']?\s*[:=]\s*["']?(\d+(?:\.\d+)?)/i.exec(output);
  const header = /\bretry[-_]after["']?\s*[:=]\s*["']?([^"'\n,}]+(?:, [^"'\n}]+)?)/i.exec(output);
  if (headerMs) {
    retryAfterMs = Math.round(Number(headerMs[1]));
    source = 'retry-after-ms';
  } else if (header) {
    retryAfterMs = parseRetryAfter(header[1], now);
    if (retryAfterMs !== undefined) source = 'retry-after';
  }
  if (retryAfterMs === undefined) {
    // Claude Code's own retries: the last one says what it waited, the API's retry-after when it sent one.
    const retries = [...output.matchAll(/^\{"type":"system","subtype":"api_retry".*$/gm)];
    for (const line of retries.reverse()) {
      try {
        const event = JSON.parse(line[0]) as { retry_delay_ms?: unknown; error_status?: unknown };
        if (typeof event.retry_delay_ms === 'number' && event.retry_delay_ms > 0) {
          retryAfterMs = event.retry_delay_ms;
          source = 'api_retry';
          if (status === undefined && typeof event.error_status === 'number') status = event.error_status;
          break;
        }
      } catch {
        // A line cut at the capture's edge.
      }
    }
  }
  if (retryAfterMs === undefined) {
    const phrase = /try again in\s+(\d+(?:\.\d+)?\s*(?:ms|seconds?|secs?|minutes?|mins?)|(?:\d+h)?(?:\d+m)?(?:\d+(?:\.\d+)?s)?)\b/i.exec(
      output,
    );
    const wait = phrase ? parseWaitPhrase(phrase[1]) : undefined;
    if (wait !== undefined) {
      retryAfterMs = wait;
      source = 'try again in';
    }
  }
  if (status === undefined && retryAfterMs === undefined) return undefined;
  return {
    ...(status !== undefined ? { status } : {}),
    ...(retryAfterMs !== undefined ? { retryAfterMs, source } : {}),
  };
}

export interface RetryPlan {
  /** Wait this long, then try again. */
  waitMs?: number;
  /** Or do not: why, for the session's error. */
  giveUp?: string;
}

export interface RetryInput {
  /** The attempt that just failed, from 1. */
  attempt: number;
  /** The backoff's base (the agent option retryDelay). */
  baseMs: number;
  /** The longest wait the backoff alone gives. */
  capMs: number;
  /** What the output said. */
  signal?: RateLimitSignal;
  /** What is left of the session's time. */
  remainingMs: number;
  random: () => number;
}

/**
 * The wait before the next attempt: exponential backoff with full jitter (a random wait below
 * base × 2^(attempt-1), capped), so sessions that failed together do not retry together; where
 * the provider asked for a wait, at least that wait, plus a jitter of up to a fifth of it (at
 * least a second), for the same reason. No wait that would end past the session's timeout, and
 * none longer than MAX_HONOURED_WAIT_MS: the provider then speaks of a usage limit, which no
 * retry within the session cures.
 */
export function retryDelay({ attempt, baseMs, capMs, signal, remainingMs, random }: RetryInput): RetryPlan {
  const backoff = Math.floor(random() * Math.min(capMs, baseMs * 2 ** (attempt - 1)));
  const asked = signal?.retryAfterMs;
  if (asked !== undefined && asked > MAX_HONOURED_WAIT_MS) {
    return {
      giveUp:
        `the provider asks to wait ${describeWait(asked)} (${signal?.source}): a usage limit rather than a rate limit. ` +
        'Run again once it has reset, or lower the number of sessions at once (maxConcurrent, --parallel).',
    };
  }
  const waitMs = asked === undefined ? backoff : asked + Math.floor(random() * Math.max(1000, asked / 5));
  if (waitMs >= remainingMs) {
    return {
      giveUp:
        asked === undefined
          ? `the session's timeout leaves ${describeWait(remainingMs)}, too little to try again.`
          : `the provider asks to wait ${describeWait(asked)} (${signal?.source}), and the session's timeout leaves ${describeWait(remainingMs)}.`,
    };
  }
  return { waitMs };
}

/** "45.0 s", "3 min 20 s", "1 h 5 min". */
export function describeWait(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The session log's line while it waits. */
export function waitingMessage(agent: string, attempt: number, waitMs: number, signal?: RateLimitSignal): string {
  const what =
    signal?.status === 529
      ? 'overloaded (529)'
      : signal?.status === 503
        ? 'unavailable (503)'
        : signal?.status === 429
          ? 'rate-limited (429)'
          : 'rate-limited or overloaded';
  const asked =
    signal?.retryAfterMs !== undefined ? `, as the provider asked (${signal.source}: ${describeWait(signal.retryAfterMs)})` : '';
  return `${agent} was ${what} on attempt ${attempt}; waiting ${describeWait(waitMs)}${asked} before attempt ${attempt + 1}`;
}
