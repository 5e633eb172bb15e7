import { parseDocument, stringify } from 'yaml';

/**
 * A task's assignment: the `fanout.md` at its project root. YAML front matter
 * says how the session runs; the body is what the agent is asked to do.
 */
export interface Assignment {
  /** The reference project the task follows. */
  like: string;
  /** The contracts library the task must use. */
  contracts: string;
  /** The agent adapter: `pattern` (default), `command`, or a CLI agent. */
  agent: string;
  /** argv template for the `command` agent. */
  command?: string;
  /** The contracts entity the task serves; defaults to the task's name. */
  entity?: string;
  /** Paths, relative to the project root, the session may write. Default: `src`. */
  scope: string[];
  /** Session time limit in milliseconds. */
  timeoutMs: number;
  /** The assignment text given to the agent. */
  text: string;
}

export const ASSIGNMENT_FILE = 'fanout.md';
export const DEFAULT_AGENT = 'pattern';
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
/**
 * Where a session writes by default: its project's sources. Everything a session
 * may write is an output of the cached fanout target (replayed from the cache),
 * so the default keeps the project's own configuration out of it.
 */
export const DEFAULT_SCOPE: readonly string[] = ['src'];

/**
 * The placeholder source \`nx g fanout:task\` writes at \`<projectRoot>/src/index.ts\`,
 * so the project type-checks before its session ran. It is fanout's own: a session
 * may replace it even while it is uncommitted.
 */
export function taskPlaceholder(project: string): string {
  return `// The fanout session for this task writes this project's sources: nx run ${project}:fanout\nexport {};\n`;
}

const KEYS = ['like', 'contracts', 'agent', 'command', 'entity', 'scope', 'timeout'] as const;

export class AssignmentError extends Error {
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'AssignmentError';
  }
}

/** Splits `---\nyaml\n---\nbody` into its two parts; the front matter is required. */
function splitFrontMatter(source: string, file: string): { yaml: string; body: string } {
  const match = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n---[ \t]*(?:\r?\n|$)([\s\S]*)$/.exec(source);
  if (!match) {
    throw new AssignmentError(
      file,
      'has no YAML front matter. It must start with a line "---", the settings (like: <reference>, contracts: <library>), and a closing "---".',
    );
  }
  return { yaml: match[1], body: match[2] };
}

/** `90`, `"90s"`, `"30m"`, `"1h"` → milliseconds. */
export function parseDuration(value: unknown, file: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value * 1000;
  if (typeof value === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(value);
    if (match) {
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'] ?? 1000;
      const ms = Number(match[1]) * unit;
      if (ms > 0) return ms;
    }
  }
  throw new AssignmentError(
    file,
    `"timeout" must be a positive number of seconds or a duration such as "90s", "30m" or "1h" (got ${JSON.stringify(value)}).`,
  );
}

/** Throws unless `path` is a relative path inside the project. */
export function assertInsideProject(path: string, file: string): string {
  const normalized = path.trim().replace(/\\/g, '/').replace(/\/+$/, '');
  if (normalized === '') {
    throw new AssignmentError(file, '"scope" has an empty entry; write "." for the whole project.');
  }
  if (normalized === '.') return '.';
  if (normalized.startsWith('/') || /^[A-Za-z]:/.test(normalized)) {
    throw new AssignmentError(file, `"scope" entry "${path}" is absolute; give paths relative to the project root.`);
  }
  const segments = normalized.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) {
    throw new AssignmentError(file, `"scope" entry "${path}" leaves the project ("..") ; a session may only write inside its project.`);
  }
  return segments.join('/');
}

function requireString(data: Record<string, unknown>, key: string, file: string, required: boolean): string | undefined {
  const value = data[key];
  if (value === undefined || value === null) {
    if (required) throw new AssignmentError(file, `"${key}" is required in the front matter.`);
    return undefined;
  }
  if (typeof value !== 'string' || value.trim() === '') {
    throw new AssignmentError(file, `"${key}" must be a non-empty string (got ${JSON.stringify(value)}).`);
  }
  return value.trim();
}

/** Parses and validates a `fanout.md`; every problem is reported with the file's path. */
export function parseAssignment(source: string, file: string): Assignment {
  const { yaml, body } = splitFrontMatter(source, file);
  const document = parseDocument(yaml, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new AssignmentError(file, `its front matter is not valid YAML: ${document.errors[0].message}`);
  }
  const data: unknown = document.toJS() ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new AssignmentError(file, 'its front matter must be a mapping of settings (key: value).');
  }
  const record = data as Record<string, unknown>;
  const unknown = Object.keys(record).filter((key) => !(KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    throw new AssignmentError(file, `unknown front matter key(s): ${unknown.join(', ')}. Known keys: ${KEYS.join(', ')}.`);
  }
  const scopeValue = record['scope'];
  let scope: string[] = [...DEFAULT_SCOPE];
  if (scopeValue !== undefined && scopeValue !== null) {
    const entries = typeof scopeValue === 'string' ? [scopeValue] : scopeValue;
    if (!Array.isArray(entries) || entries.length === 0 || entries.some((entry) => typeof entry !== 'string')) {
      throw new AssignmentError(file, '"scope" must be a path or a non-empty list of paths, relative to the project root.');
    }
    scope = entries.map((entry: string) => assertInsideProject(entry, file));
  }
  const text = body.trim();
  if (text === '') {
    throw new AssignmentError(file, 'the assignment text (below the front matter) is empty: say what the session should build.');
  }
  return {
    like: requireString(record, 'like', file, true) as string,
    contracts: requireString(record, 'contracts', file, true) as string,
    agent: requireString(record, 'agent', file, false) ?? DEFAULT_AGENT,
    command: requireString(record, 'command', file, false),
    entity: requireString(record, 'entity', file, false),
    scope,
    timeoutMs: record['timeout'] === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(record['timeout'], file),
    text,
  };
}

export interface AssignmentFields {
  like: string;
  contracts: string;
  agent?: string;
  command?: string;
  entity?: string;
  scope?: string[];
  timeout?: string;
  text: string;
}

/** Writes a `fanout.md`; only settings that were given appear in the front matter. */
export function renderAssignment(fields: AssignmentFields): string {
  const data: Record<string, unknown> = { like: fields.like, contracts: fields.contracts, agent: fields.agent ?? DEFAULT_AGENT };
  for (const key of ['command', 'entity', 'timeout'] as const) {
    if (fields[key] !== undefined) data[key] = fields[key];
  }
  if (fields.scope !== undefined) data['scope'] = fields.scope;
  return `---\n${stringify(data).trimEnd()}\n---\n\n${fields.text.trim()}\n`;
}
