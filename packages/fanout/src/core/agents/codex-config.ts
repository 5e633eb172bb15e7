import { readFileSync } from 'fs';
import { join } from 'path';
import { parse } from 'smol-toml';
import { hostAndPort } from '../sandbox/policy';

/** Providers Codex builds in: it takes their addresses from itself (OPENAI_BASE_URL for openai), never from config.toml. */
const BUILT_IN_PROVIDERS = new Set(['openai', 'ollama', 'lmstudio']);

/**
 * The host (`host:port`) of the provider `<codexHome>/config.toml` selects: `model_provider`, defined
 * under `[model_providers.<id>]` with its `base_url`. Undefined for no file, a built-in provider, or a
 * file or URL Codex itself refuses (it then says why, better than fanout could).
 */
export function codexProviderHost(codexHome: string): string | undefined {
  let config: Record<string, unknown>;
  try {
    config = parse(readFileSync(join(codexHome, 'config.toml'), 'utf-8'));
  } catch {
    return undefined;
  }
  const selected = config['model_provider'];
  if (typeof selected !== 'string' || BUILT_IN_PROVIDERS.has(selected)) return undefined;
  const providers = config['model_providers'];
  const provider = typeof providers === 'object' && providers !== null ? (providers as Record<string, unknown>)[selected] : undefined;
  const baseUrl = typeof provider === 'object' && provider !== null ? (provider as Record<string, unknown>)['base_url'] : undefined;
  if (typeof baseUrl !== 'string') return undefined;
  try {
    const url = new URL(baseUrl);
    return url.protocol === 'http:' || url.protocol === 'https:' ? hostAndPort(url) : undefined;
  } catch {
    return undefined;
  }
}
