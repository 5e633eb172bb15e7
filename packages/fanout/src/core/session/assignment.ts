import { isMap, isNode, isScalar, LineCounter, parseDocument, stringify } from 'yaml';
import { splitTemplate } from '../agents/argv';
import { isPlainName } from '../naming/names';
import { editDistance } from '../naming/edit-distance';
import { durationMs } from '../system/duration';
import { checkSandboxSetting, SANDBOX_MODES, type SandboxSetting } from '../sandbox/settings';
import { DEFAULT_AGENT, DEFAULT_REPAIRS, DEFAULT_SCOPE, DEFAULT_TIMEOUT_MS, FANOUT_DIR } from '../../constants';

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
  /** The contracts entity the task serves (API scaffold); defaults to the task's name. */
  entity?: string;
  /** The word that differs between the task and its reference (`dashboard`); defaults to what the project name says. */
  subject?: string;
  /** Paths, relative to the project root, the session may write. Default: `src`. */
  scope: string[];
  /** Session time limit in milliseconds. */
  timeoutMs: number;
  /** The project's targets the session must pass in its worktree before it lands; `[]`: none. Absent: the plugin option, else the defaults. */
  gate?: string[];
  /** How many repair rounds the agent gets when the gate or the checks fail. Absent: the plugin option, else DEFAULT_REPAIRS. */
  repairs?: number;
  /** Workspace-relative files outside the scope the session may edit to register its work (an app's routes, a barrel). */
  wire?: string[];
  /** The sandbox: a mode, and what the policy adds. Absent: the plugin option, else auto. --sandbox wins over the mode. */
  sandbox?: SandboxSetting;
  /** The assignment text given to the agent. */
  text: string;
}

// Where the session's modules still look for it.

/** More would only spend the session's time and the provider's money on an agent that is not converging. */
export const MAX_REPAIRS = 10;

/**
 * The placeholder source \`nx g fanout:task\` writes at \`<projectRoot>/src/index.ts\`,
 * so the project type-checks before its session ran. It is fanout's own: a session
 * may replace it even while it is uncommitted.
 */
export function taskPlaceholder(project: string): string {
  return `// The fanout session for this task writes this project's sources: nx run ${project}:fanout\nexport {};\n`;
}

/**
 * The front matter's schema: every key fanout reads and the value it takes.
 * Any other key is an error, so a misspelt setting never silently does nothing.
 */
export const FRONT_MATTER_SCHEMA = {
  like: { type: 'name', required: true, expects: 'the reference project the task follows' },
  contracts: { type: 'name', required: true, expects: 'the contracts library the task uses' },
  agent: { type: 'name', expects: 'the agent: pattern (the default), command, claude, codex, gemini, opencode or aider' },
  command: { type: 'command', expects: 'the argv template of the command agent, e.g. "node tools/agent.js {promptFile}"' },
  entity: { type: 'entity', expects: 'the contracts entity the task serves, e.g. "order"' },
  subject: { type: 'entity', expects: 'the word that differs between this task and its reference, e.g. "dashboard"' },
  scope: { type: 'paths', expects: 'a path or a list of paths, relative to the project root, the session may write' },
  timeout: { type: 'duration', expects: 'seconds, or a duration such as "90s", "30m" or "1h"' },
  gate: {
    type: 'targets',
    expects: "the project's targets the session must pass in its worktree before it lands, e.g. [typecheck, test]; [] turns the gate off",
  },
  repairs: {
    type: 'count',
    expects: `how many repair rounds the agent gets when its work fails the gate or the checks (0 to ${MAX_REPAIRS}, default ${DEFAULT_REPAIRS})`,
  },
  wire: {
    type: 'wired',
    expects:
      "files outside the task's project, relative to the workspace root, that the session may edit to register its work, e.g. [apps/shop/src/app/pages.tsx]",
  },
  sandbox: {
    type: 'sandbox',
    expects:
      `the agent's sandbox: ${SANDBOX_MODES.join(', ')}, or { mode, denyRead, allowedDomains, env }, ` +
      'e.g. { mode: on, allowedDomains: [registry.npmjs.org] }',
  },
} as const satisfies Record<string, { type: string; required?: boolean; expects: string }>;

type FrontMatterKey = keyof typeof FRONT_MATTER_SCHEMA;
const KEYS = Object.keys(FRONT_MATTER_SCHEMA) as FrontMatterKey[];

/** One thing wrong with a fanout.md, at a line of it when known. */
export interface AssignmentProblem {
  line?: number;
  message: string;
}

export class AssignmentError extends Error {
  readonly problems: AssignmentProblem[];

  constructor(file: string, problems: string | AssignmentProblem[]) {
    const list = typeof problems === 'string' ? [{ message: problems }] : problems;
    const at = (problem: AssignmentProblem) => (problem.line === undefined ? `${file}: ` : `${file}:${problem.line}: `);
    super(
      list.length === 1
        ? `${at(list[0])}${list[0].message}`
        : `${file}: ${list.length} problems in the front matter:\n${list.map((problem) => `  ${at(problem)}${problem.message}`).join('\n')}`,
    );
    this.name = 'AssignmentError';
    this.problems = list;
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

const DURATION_PROBLEM = (value: unknown) =>
  `"timeout" must be a positive number of seconds or a duration such as "90s", "30m" or "1h" (got ${JSON.stringify(value)}).`;

/** `90`, `"90s"`, `"30m"`, `"1h"` → milliseconds. */
export function parseDuration(value: unknown, file: string): number {
  const ms = durationMs(value);
  if (ms === undefined) throw new AssignmentError(file, DURATION_PROBLEM(value));
  return ms;
}

/** A scope entry normalised, or why it is not a path inside the project. */
function scopeEntry(path: string): { path: string } | { problem: string } {
  const normalized = path.trim().replace(/\\/g, '/').replace(/\/+$/, '');
  if (normalized === '') return { problem: '"scope" has an empty entry; write "." for the whole project.' };
  if (normalized === '.') return { path: '.' };
  if (normalized.startsWith('/') || /^[A-Za-z]:/.test(normalized)) {
    return { problem: `"scope" entry "${path}" is absolute; give paths relative to the project root.` };
  }
  const segments = normalized.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) {
    return { problem: `"scope" entry "${path}" leaves the project ("..") ; a session may only write inside its project.` };
  }
  return { path: segments.join('/') };
}

/** A wired file's path normalised, or why it is not a file path inside the workspace. */
export function wiredPath(path: string): { path: string } | { problem: string } {
  const normalized = path.trim().replace(/\\/g, '/');
  if (normalized === '' || normalized.endsWith('/')) return { problem: `"wire" entry ${JSON.stringify(path)} is not a file path.` };
  if (normalized.startsWith('/') || /^[A-Za-z]:/.test(normalized)) {
    return { problem: `"wire" entry "${path}" is absolute; give files relative to the workspace root.` };
  }
  const segments = normalized.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.length === 0 || segments.includes('..')) {
    return { problem: `"wire" entry "${path}" is not a file inside the workspace; give files relative to the workspace root.` };
  }
  if (segments[0] === FANOUT_DIR || segments[0] === '.git' || segments[0] === 'node_modules') {
    return { problem: `"wire" entry "${path}" is inside ${segments[0]}/, which no session may edit.` };
  }
  return { path: segments.join('/') };
}

/** Throws unless `path` is a relative path inside the project. */
export function assertInsideProject(path: string, file: string): string {
  const entry = scopeEntry(path);
  if ('problem' in entry) throw new AssignmentError(file, entry.problem);
  return entry.path;
}

/** Checks one value against its schema entry: the value to use, or what is wrong with it. */
function validateField(key: FrontMatterKey, value: unknown): { value: unknown } | { problem: string } {
  const schema = FRONT_MATTER_SCHEMA[key];
  const got = `(got ${JSON.stringify(value)})`;
  switch (schema.type) {
    case 'name':
    case 'entity':
    case 'command': {
      if (typeof value !== 'string' || value.trim() === '') {
        return { problem: `"${key}" must be a non-empty string ${got}: ${schema.expects}.` };
      }
      const text = value.trim();
      if (schema.type === 'entity' && !isPlainName(text)) {
        return {
          problem: `"${key}" "${text}" is not a plain name: use letters, digits and single "-" or "_" between words, starting with a letter, e.g. "order" or "line-item".`,
        };
      }
      if (schema.type === 'command') {
        let words: string[];
        try {
          words = splitTemplate(text);
        } catch (error) {
          return { problem: `"command" ${(error as Error).message.replace(/^The command template /, '')}.` };
        }
        if (words.length === 0 || words[0].trim() === '') {
          return { problem: `"command" names no program ${got}: ${schema.expects}.` };
        }
      }
      return { value: text };
    }
    case 'paths': {
      const entries = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(entries) || entries.length === 0 || entries.some((entry) => typeof entry !== 'string')) {
        return { problem: '"scope" must be a path or a non-empty list of paths, relative to the project root.' };
      }
      const paths: string[] = [];
      for (const entry of entries as string[]) {
        const checked = scopeEntry(entry);
        if ('problem' in checked) return checked;
        paths.push(checked.path);
      }
      return { value: paths };
    }
    case 'duration': {
      const ms = durationMs(value);
      return ms === undefined ? { problem: DURATION_PROBLEM(value) } : { value: ms };
    }
    case 'targets': {
      const checked = checkTargetList(value);
      return typeof checked === 'string' ? { problem: `"${key}" ${checked}` } : { value: checked };
    }
    case 'count': {
      const checked = checkRepairs(value);
      return typeof checked === 'string' ? { problem: `"${key}" ${checked}` } : { value: checked };
    }
    case 'sandbox': {
      const checked = checkSandboxSetting(value, `"${key}"`);
      return 'problems' in checked ? { problem: checked.problems.join(' ') } : { value: checked };
    }
    case 'wired': {
      const entries = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(entries) || entries.some((entry) => typeof entry !== 'string')) {
        return { problem: `"wire" must be a file or a list of files, relative to the workspace root ${got}: ${schema.expects}.` };
      }
      const paths: string[] = [];
      for (const entry of entries as string[]) {
        const checked = wiredPath(entry);
        if ('problem' in checked) return checked;
        if (!paths.includes(checked.path)) paths.push(checked.path);
      }
      return { value: paths };
    }
  }
}

const TARGET_NAME = /^[A-Za-z0-9][\w:.-]*$/;

/**
 * A gate's list of target names (`[typecheck, test]`, or one name), or what is
 * wrong with it, to follow the setting's name. Shared by fanout.md, the plugin
 * options and --gate.
 */
export function checkTargetList(value: unknown): string[] | string {
  const entries =
    typeof value === 'string'
      ? value
          .split(',')
          .map((entry) => entry.trim())
          .filter((entry) => entry !== '')
      : value;
  if (!Array.isArray(entries) || entries.some((entry) => typeof entry !== 'string')) {
    return `must be a list of target names, e.g. [typecheck, test, lint], or [] for no gate (got ${JSON.stringify(value)}).`;
  }
  const bad = (entries as string[]).filter((entry) => !TARGET_NAME.test(entry.trim()));
  if (bad.length > 0) return `holds what is not a target name: ${bad.map((entry) => JSON.stringify(entry)).join(', ')}.`;
  return [...new Set((entries as string[]).map((entry) => entry.trim()))];
}

/** A number of repair rounds, or what is wrong with it. */
export function checkRepairs(value: unknown): number | string {
  const number = typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0 || number > MAX_REPAIRS) {
    return `must be a whole number from 0 to ${MAX_REPAIRS}: how many repair rounds the agent gets (got ${JSON.stringify(value)}).`;
  }
  return number;
}

/**
 * Parses and validates a `fanout.md` against FRONT_MATTER_SCHEMA. Every problem
 * is reported at once, each with the file and, where it has one, its line.
 */
export function parseAssignment(source: string, file: string): Assignment {
  const { yaml, body } = splitFrontMatter(source, file);
  const lines = new LineCounter();
  // The front matter starts on the file's second line, below the opening "---".
  const lineOf = (offset: number | undefined) => (offset === undefined ? undefined : lines.linePos(offset).line + 1);
  const document = parseDocument(yaml, { lineCounter: lines, prettyErrors: false });
  if (document.errors.length > 0) {
    const [error] = document.errors;
    throw new AssignmentError(file, [{ line: lineOf(error.pos[0]), message: `its front matter is not valid YAML: ${error.message}.` }]);
  }
  const data: unknown = document.toJS() ?? {};
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new AssignmentError(file, 'its front matter must be a mapping of settings (key: value).');
  }
  const record = data as Record<string, unknown>;
  const keyLines = new Map<string, number | undefined>();
  if (isMap(document.contents)) {
    for (const pair of document.contents.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      keyLines.set(key, lineOf(isNode(pair.key) ? pair.key.range?.[0] : undefined));
    }
  }

  const problems: AssignmentProblem[] = [];
  const unknown = Object.keys(record).filter((key) => !(KEYS as string[]).includes(key));
  if (unknown.length > 0) {
    const named = unknown.map((key) => {
      const meant = KEYS.find((known) => editDistance(key.toLowerCase(), known) <= 2);
      return meant ? `${key} (did you mean "${meant}"?)` : key;
    });
    problems.push({
      line: keyLines.get(unknown[0]),
      message: `unknown front matter key(s): ${named.join(', ')}. Known keys: ${KEYS.join(', ')}.`,
    });
  }
  const values: Partial<Record<FrontMatterKey, unknown>> = {};
  for (const key of KEYS) {
    const value = record[key];
    const required = 'required' in FRONT_MATTER_SCHEMA[key];
    // An empty value (`agent:`) means the default, except for a timeout, where it is a mistake.
    if (value === undefined || (value === null && key !== 'timeout')) {
      if (required) problems.push({ message: `"${key}" is required in the front matter: ${FRONT_MATTER_SCHEMA[key].expects}.` });
      continue;
    }
    const checked = validateField(key, value);
    if ('problem' in checked) problems.push({ line: keyLines.get(key), message: checked.problem });
    else values[key] = checked.value;
  }
  const text = body.trim();
  if (text === '') {
    problems.push({ message: 'the assignment text (below the front matter) is empty: say what the session should build.' });
  }
  if (problems.length > 0) throw new AssignmentError(file, problems);
  return {
    like: values.like as string,
    contracts: values.contracts as string,
    agent: (values.agent as string | undefined) ?? DEFAULT_AGENT,
    command: values.command as string | undefined,
    entity: values.entity as string | undefined,
    subject: values.subject as string | undefined,
    scope: (values.scope as string[] | undefined) ?? [...DEFAULT_SCOPE],
    timeoutMs: (values.timeout as number | undefined) ?? DEFAULT_TIMEOUT_MS,
    ...(values.gate !== undefined ? { gate: values.gate as string[] } : {}),
    ...(values.repairs !== undefined ? { repairs: values.repairs as number } : {}),
    ...(values.wire !== undefined && (values.wire as string[]).length > 0 ? { wire: values.wire as string[] } : {}),
    ...(values.sandbox !== undefined ? { sandbox: values.sandbox as SandboxSetting } : {}),
    text,
  };
}

/** The projects a task is built from, resolved against the workspace. */
export interface TaskProjects {
  reference: { project: string; root: string };
  contracts: { project: string; root: string };
}

/**
 * Resolves `like` and `contracts` to project roots, and checks that they can be
 * the fixed base of a run: they exist, neither is the task itself, and no task of
 * the same run writes them (a session would follow code still being written).
 * `projects` maps every project name to its root; `runTasks` names the run's tasks.
 */
export function resolveTaskProjects(
  assignment: Pick<Assignment, 'like' | 'contracts'>,
  task: { project: string; file: string },
  projects: ReadonlyMap<string, string>,
  runTasks: ReadonlySet<string>,
): TaskProjects {
  const problems: AssignmentProblem[] = [];
  const resolve = (key: 'like' | 'contracts', what: string) => {
    const name = assignment[key];
    const root = projects.get(name);
    if (root === undefined) {
      problems.push({ message: `${key}: "${name}" is not a project in this workspace; name ${what} (nx show projects lists them).` });
    } else if (name === task.project) {
      problems.push({ message: `${key}: "${name}" is this task itself; name ${what}, another project.` });
    } else if (runTasks.has(name)) {
      problems.push({
        message:
          `${key}: "${name}" is itself a task of this run; a task must follow a finished reference and use finished contracts. ` +
          `Fan out "${name}" first, then this task (nx run-many -t fanout --exclude=${name}).`,
      });
    }
    return { project: name, root: root ?? '' };
  };
  const reference = resolve('like', 'the reference project the task follows');
  const contracts = resolve('contracts', 'the contracts library the task uses');
  if (problems.length > 0) throw new AssignmentError(task.file, problems);
  return { reference, contracts };
}

/** A wired file and the project that owns it. */
export interface WiredFile {
  path: string;
  project: string;
}

/**
 * Checks a task's wired files against the workspace before any session starts:
 * each is a file that exists (`isFile`), outside the task's scope, owned by a
 * project (the one with the longest root containing it) that is neither the
 * task nor another task of the run, whose session could be editing it too.
 */
export function resolveWiredFiles(
  wire: readonly string[],
  task: { project: string; file: string; root: string; scope: readonly string[] },
  projects: ReadonlyMap<string, string>,
  runTasks: ReadonlySet<string>,
  isFile: (path: string) => boolean,
  /** The reference and the contracts: no session may change them, wired or not. */
  readOnly: readonly string[] = [],
): WiredFile[] {
  const problems: AssignmentProblem[] = [];
  const wired: WiredFile[] = [];
  const inside = (path: string, root: string) => root === '.' || root === '' || path === root || path.startsWith(`${root}/`);
  for (const path of wire) {
    if (!isFile(path)) {
      problems.push({ message: `wire: "${path}" is not a file of this workspace; name an existing file, relative to the workspace root.` });
      continue;
    }
    const scoped = task.scope.some((entry) => inside(path, entry === '.' ? task.root : `${task.root}/${entry}`));
    if (scoped) {
      problems.push({
        message: `wire: "${path}" is inside the task's own scope; list only files outside it, which the session may not otherwise edit.`,
      });
      continue;
    }
    // The innermost project: the root project ('.') owns only what no other project does.
    let owner: string | undefined;
    let depth = -1;
    for (const [project, root] of projects) {
      const length = root === '.' || root === '' ? 0 : root.length;
      if (inside(path, root) && length > depth) [owner, depth] = [project, length];
    }
    if (owner === undefined) {
      problems.push({
        message: `wire: "${path}" belongs to no project; a wired file must be a file of a project that is not a task of the run.`,
      });
    } else if (owner === task.project) {
      problems.push({ message: `wire: "${path}" is a file of this task's own project; widen "scope" to let the session write it.` });
    } else if (readOnly.includes(owner)) {
      problems.push({
        message: `wire: "${path}" belongs to "${owner}", the reference or the contracts, which every session follows and none may change.`,
      });
    } else if (runTasks.has(owner)) {
      problems.push({
        message: `wire: "${path}" belongs to "${owner}", itself a task of this run; wire files of a project no session of the run writes.`,
      });
    } else {
      wired.push({ path, project: owner });
    }
  }
  if (problems.length > 0) throw new AssignmentError(task.file, problems);
  return wired;
}

export interface AssignmentFields {
  like: string;
  contracts: string;
  agent?: string;
  command?: string;
  entity?: string;
  subject?: string;
  scope?: string[];
  timeout?: string;
  gate?: string[];
  repairs?: number;
  wire?: string[];
  text: string;
}

/** Writes a `fanout.md`; only settings that were given appear in the front matter. */
export function renderAssignment(fields: AssignmentFields): string {
  const data: Record<string, unknown> = { like: fields.like, contracts: fields.contracts, agent: fields.agent ?? DEFAULT_AGENT };
  for (const key of ['command', 'entity', 'subject', 'timeout'] as const) {
    if (fields[key] !== undefined) data[key] = fields[key];
  }
  if (fields.scope !== undefined) data['scope'] = fields.scope;
  if (fields.gate !== undefined) data['gate'] = fields.gate;
  if (fields.repairs !== undefined) data['repairs'] = fields.repairs;
  if (fields.wire !== undefined && fields.wire.length > 0) data['wire'] = fields.wire;
  return `---\n${stringify(data).trimEnd()}\n---\n\n${fields.text.trim()}\n`;
}
