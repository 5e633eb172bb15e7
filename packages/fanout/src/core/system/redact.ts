import { StringDecoder } from 'string_decoder';

/**
 * Secrets never reach a log or a result file: values of environment variables
 * named like *_KEY, *_TOKEN, *_SECRET (and *_PASSWORD), and strings shaped like
 * well-known API keys, are replaced by [REDACTED].
 */
const SECRET_NAME = /(_KEY|_TOKEN|_SECRET|_PASSWORD|^API_KEY|^TOKEN|^SECRET)$/i;
// Each shape must start a token: `desk-reservation-service` is a path, not a key.
const KEY_SHAPES = [
  /(?<![A-Za-z0-9_-])sk-ant-[A-Za-z0-9_-]{10,}/g,
  /(?<![A-Za-z0-9_-])sk-(?:proj-)?[A-Za-z0-9_-]{20,}/g,
  /(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{30,}/g,
  /(?<![A-Za-z0-9_-])gh[pousr]_[A-Za-z0-9]{30,}/g,
];

export function secretValues(env: NodeJS.ProcessEnv): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value.length >= 6)
    .map(([, value]) => value as string)
    .sort((a, b) => b.length - a.length);
}

/**
 * A redaction. `unfinished(text)` is how many characters at the end of `text`
 * could be the start of a secret still arriving: what a stream must hold back.
 */
export type Redactor = ((text: string) => string) & { readonly unfinished?: (text: string) => number };

/** A key-shaped token may run this long before a stream lets its start go. */
const TOKEN_HOLD = 4096;
// The trailing run of key characters that could still grow into a key shape (sk-, AIza, gh?_).
const KEY_START = /(?<![A-Za-z0-9_-])[sAg][A-Za-z0-9_-]*$/;

/** The longest end of `text` that is the start of `value` (and not all of it). */
function startOf(value: string, text: string): number {
  const last = text[text.length - 1];
  for (let length = Math.min(value.length - 1, text.length); length > 0; length--) {
    // Only lengths whose last character matches can fit; most are skipped at once.
    if (value[length - 1] === last && text.endsWith(value.slice(0, length))) return length;
  }
  return 0;
}

/** A redaction that can learn more secrets: `add(env)` redacts the secret values of `env` too, from then on. */
export type GrowingRedactor = Redactor & { add(env: NodeJS.ProcessEnv): void };

export function createRedactor(env: NodeJS.ProcessEnv): GrowingRedactor {
  const values = secretValues(env);
  const redact = (text: string) => {
    let result = text;
    for (const value of values) result = result.split(value).join('[REDACTED]');
    for (const shape of KEY_SHAPES) result = result.replace(shape, '[REDACTED]');
    return result;
  };
  const unfinished = (text: string) => {
    if (text === '') return 0;
    const token = KEY_START.exec(text.slice(-TOKEN_HOLD))?.[0].length ?? 0;
    return values.reduce((hold, value) => Math.max(hold, startOf(value, text)), token);
  };
  const add = (more: NodeJS.ProcessEnv) => {
    // Longest first, as secretValues() sorts them: a secret that holds another is replaced whole.
    values.push(...secretValues(more));
    values.sort((a, b) => b.length - a.length);
  };
  return Object.assign(redact, { unfinished, add });
}

/**
 * Redacts a stream that arrives in chunks. A secret split across two chunks would
 * pass a per-chunk redaction, so an end of a chunk that could be the start of a
 * secret is held back until the next chunk or the end, and nothing else: output
 * of whole lines flows on at once. Decodes UTF-8 across chunk boundaries too.
 */
export function createStreamRedactor(redact: Redactor = (text) => text): {
  push(chunk: Buffer | string): string;
  end(): string;
} {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  return {
    push(chunk) {
      const text = redact(pending + (typeof chunk === 'string' ? chunk : decoder.write(chunk)));
      const cut = text.length - (redact.unfinished?.(text) ?? 0);
      pending = text.slice(cut);
      return text.slice(0, cut);
    },
    end() {
      const text = redact(pending + decoder.end());
      pending = '';
      return text;
    },
  };
}

/** A copy of `value` with every string in it redacted (a result before it is written or shown). */
export function redactDeep<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((item) => redactDeep(item, redact)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactDeep(item, redact)])) as T;
  }
  return value;
}
