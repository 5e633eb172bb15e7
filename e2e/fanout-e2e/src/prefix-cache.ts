import { createHash } from 'node:crypto';

/**
 * A model of a provider's prompt cache, as Anthropic documents it for the Messages
 * API, for a scripted model server to report usage with:
 * - a request is read as a sequence of blocks: the tools, then the system prompt's
 *   blocks, then each message's content blocks;
 * - a block with `cache_control` is a breakpoint: the prefix that ends with it is
 *   written to the cache, unless it is there already;
 * - a request reads the longest prefix, ending at a block boundary no later than
 *   its last breakpoint, that an earlier request wrote, provided the response to
 *   that request has begun (until then nothing is readable) and it is no older
 *   than the cache's lifetime;
 * - tokens are counted as four characters of a block's text (JSON for a tool).
 */

interface CacheBlock {
  /** What the block is, for people: "tool Write", "system[2]", "message 0.3". */
  name: string;
  text: string;
  breakpoint: boolean;
}

export interface CacheUsage {
  /** Tokens after the cached and written part. */
  input: number;
  cacheRead: number;
  cacheWrite: number;
  /** The request's blocks joined, and how many of its characters were read from the cache and written to it. */
  prefixText: string;
  readChars: number;
  writeChars: number;
}

/** How the cache holds a request's prefixes: until its response has begun, they are not readable. */
export interface PendingWrite {
  /** Makes what the request wrote readable: call it when the response begins. */
  begin(): void;
}

const LIFETIME_MS = 5 * 60_000;

const isJson = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

function blockText(block: Record<string, unknown>): string {
  return typeof block['text'] === 'string' ? block['text'] : JSON.stringify({ ...block, cache_control: undefined });
}

/** A Messages API request body as cache blocks, in the order the provider caches them. */
function cacheBlocks(body: Record<string, unknown>): CacheBlock[] {
  const blocks: CacheBlock[] = [];
  for (const tool of list(body['tools']).filter(isJson)) {
    blocks.push({
      name: `tool ${String(tool['name'])}`,
      text: JSON.stringify({ ...tool, cache_control: undefined }),
      breakpoint: 'cache_control' in tool,
    });
  }
  const system = body['system'];
  if (typeof system === 'string') blocks.push({ name: 'system', text: system, breakpoint: false });
  list(system)
    .filter(isJson)
    .forEach((block, index) => blocks.push({ name: `system[${index}]`, text: blockText(block), breakpoint: 'cache_control' in block }));
  list(body['messages'])
    .filter(isJson)
    .forEach((message, index) => {
      const content = message['content'];
      if (typeof content === 'string') blocks.push({ name: `message ${index}`, text: content, breakpoint: false });
      list(content)
        .filter(isJson)
        .forEach((block, part) =>
          blocks.push({ name: `message ${index}.${part}`, text: blockText(block), breakpoint: 'cache_control' in block }),
        );
    });
  return blocks;
}

const tokens = (chars: number) => Math.ceil(chars / 4);

export class PrefixCache {
  /** Prefix hash → when it became readable (undefined: written, its response not begun yet). */
  private readonly entries = new Map<string, { readableAt?: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The usage of a request, and what it writes (readable once begin() is called). */
  request(body: Record<string, unknown>): { usage: CacheUsage; write: PendingWrite } {
    const blocks = cacheBlocks(body);
    const hashes: string[] = [];
    const ends: number[] = [];
    let hash = '';
    let chars = 0;
    for (const block of blocks) {
      hash = createHash('sha256').update(hash).update('\u0000').update(block.text).digest('hex');
      chars += block.text.length;
      hashes.push(hash);
      ends.push(chars);
    }
    const breakpoints = blocks.flatMap((block, index) => (block.breakpoint ? [index] : []));
    const last = breakpoints.at(-1) ?? -1;
    const time = this.now();
    let read = -1;
    for (let index = last; index >= 0; index--) {
      const entry = this.entries.get(hashes[index]);
      if (entry?.readableAt !== undefined && time - entry.readableAt <= LIFETIME_MS) {
        read = index;
        break;
      }
    }
    const readChars = read >= 0 ? ends[read] : 0;
    const cachedChars = last >= 0 ? ends[last] : 0;
    const writeChars = Math.max(0, cachedChars - readChars);
    // Requests that send the same prefix before either's response has begun both write it, and both pay.
    const written = breakpoints
      .filter((index) => index > read && this.entries.get(hashes[index])?.readableAt === undefined)
      .map((index) => hashes[index]);
    for (const key of written) if (!this.entries.has(key)) this.entries.set(key, {});
    return {
      usage: {
        input: tokens(chars - Math.max(readChars, cachedChars)),
        cacheRead: tokens(readChars),
        cacheWrite: tokens(writeChars),
        prefixText: blocks.map((block) => block.text).join(''),
        readChars,
        writeChars,
      },
      write: {
        begin: () => {
          const at = this.now();
          for (const key of written) this.entries.set(key, { readableAt: at });
        },
      },
    };
  }
}
