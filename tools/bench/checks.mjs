// Checks: contract conformance over 12 sessions of 20 files each, against the
// contracts fanout's generator wrote. Baseline: parsing the same files with the
// same compiler and doing nothing else, the least an AST-based check can cost.
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, workspaceEnv } from './plugin.mjs';
import { median } from './stats.mjs';
import { REFERENCE, TASKS } from './task-workspace.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const FILES_PER_SESSION = 20;
const PARTS = [
  'mapper',
  'filters',
  'sorting',
  'pagination',
  'cache',
  'events',
  'audit',
  'errors',
  'queries',
  'commands',
  'policy',
  'format',
  'search',
  'exporter',
  'importer',
  'metrics',
];
const REPETITIONS = 3;

function files(dir) {
  return readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? files(join(dir, entry)) : [join(dir, entry)]));
}

function names(plural) {
  const singular = plural.endsWith('ies') ? `${plural.slice(0, -3)}y` : plural.replace(/s$/, '');
  const upper = (word) => word[0].toUpperCase() + word.slice(1);
  return {
    plural,
    singular,
    Plural: upper(plural),
    Singular: upper(singular),
    PLURAL: plural.toUpperCase(),
    SINGULAR: singular.toUpperCase(),
  };
}

/** A module a session might write: its own option and result types, functions over the contract types. */
function moduleSource(entity, part, importPath) {
  const Part = part[0].toUpperCase() + part.slice(1);
  const { Singular, singular, plural } = entity;
  return `import type { ApiRequest, Paginated, ${Singular} } from '${importPath}';

/** How the ${plural} ${part} behaves. */
export interface ${Singular}${Part}Options {
  limit: number;
  ${part}Enabled: boolean;
  labels?: readonly string[];
}

export type ${Singular}${Part}Result = { items: ${Singular}[]; ${part}At: string; skipped: number };

export function ${singular}${Part}(items: readonly ${Singular}[], options: ${Singular}${Part}Options): ${Singular}${Part}Result {
  if (!options.${part}Enabled) return { items: [], ${part}At: new Date(0).toISOString(), skipped: items.length };
  const kept: ${Singular}[] = [];
  let skipped = 0;
  for (const item of items) {
    if (kept.length >= options.limit) {
      skipped += 1;
      continue;
    }
    if (options.labels && options.labels.length > 0 && !options.labels.some((label) => item.name.includes(label))) {
      skipped += 1;
      continue;
    }
    kept.push(item);
  }
  return { items: kept, ${part}At: new Date().toISOString(), skipped };
}

export function ${singular}${Part}Page(request: ApiRequest, page: Paginated<${Singular}>): ${Singular}${Part}Result {
  const limit = Number(request.query['limit'] ?? page.items.length);
  return ${singular}${Part}(page.items, { limit, ${part}Enabled: true });
}
`;
}

/**
 * Writes the sessions under `root`: each a worktree-like folder with the contracts
 * and 20 files of its task (the reference's files renamed, and modules of its own).
 */
function prepareSessions(workspace, root) {
  rmSync(root, { recursive: true, force: true });
  const contractsRoot = 'libs/contracts';
  const importPath = JSON.parse(readFileSync(join(workspace, 'tsconfig.base.json'), 'utf-8')).compilerOptions.paths;
  const contractsImport = Object.keys(importPath).find((key) => importPath[key][0].includes(`${contractsRoot}/`));
  const contractFiles = files(join(workspace, contractsRoot, 'src')).map((file) => relative(workspace, file));
  const referenceSrc = join(workspace, 'libs', REFERENCE, 'src');
  const from = names(REFERENCE);
  const projects = [
    { name: 'contracts', root: contractsRoot, importPaths: [contractsImport] },
    ...TASKS.map((task) => ({ name: task, root: `libs/${task}`, importPaths: [`@proj/${task}`] })),
  ];
  return TASKS.map((task, index) => {
    const sessionRoot = join(root, task);
    mkdirSync(sessionRoot, { recursive: true });
    cpSync(join(workspace, contractsRoot), join(sessionRoot, contractsRoot), { recursive: true });
    cpSync(join(workspace, 'libs', REFERENCE), join(sessionRoot, 'libs', REFERENCE), { recursive: true });
    // As in a worktree: the workspace's node_modules, linked.
    symlinkSync(join(workspace, 'node_modules'), join(sessionRoot, 'node_modules'), 'dir');
    const to = names(task);
    const swap = Object.fromEntries(Object.keys(from).map((key) => [from[key], to[key]]));
    const pattern = new RegExp(
      Object.keys(swap)
        .sort((a, b) => b.length - a.length)
        .join('|'),
      'g',
    );
    const rename = (text) => text.replace(pattern, (word) => swap[word]);
    const written = [];
    const write = (path, text) => {
      mkdirSync(dirname(join(sessionRoot, path)), { recursive: true });
      writeFileSync(join(sessionRoot, path), text);
      written.push(path);
    };
    for (const file of files(referenceSrc)) {
      write(`libs/${task}/src/${rename(relative(referenceSrc, file))}`, rename(readFileSync(file, 'utf-8')));
    }
    for (const part of PARTS.slice(0, FILES_PER_SESSION - written.length)) {
      write(`libs/${task}/src/lib/${to.plural}.${part}.ts`, moduleSource(to, part, contractsImport));
    }
    if (written.length !== FILES_PER_SESSION) throw new Error(`session ${task} has ${written.length} files, not ${FILES_PER_SESSION}`);
    const ports = (position) => ({ first: 20_000 + position * 100, last: 20_099 + position * 100 });
    return {
      contractFiles,
      input: {
        root: sessionRoot,
        project: task,
        projectRoot: `libs/${task}`,
        files: written,
        contracts: { project: 'contracts', root: contractsRoot, importPath: contractsImport },
        reference: { project: REFERENCE, root: `libs/${REFERENCE}` },
        // What the session replaced: the reference's subject by the task's, as a run resolves them.
        subjects: { reference: from.plural, task: to.plural },
        entity: task,
        projects,
        forbidden: TASKS.filter((other) => other !== task).map((other) => [other, `is another task of this run (${other}:fanout)`]),
        ports: {
          own: ports(index),
          siblings: TASKS.flatMap((other, position) => (other === task ? [] : [{ project: other, ...ports(position) }])),
        },
      },
    };
  });
}

function pass(workspace, mode, sessionsFile) {
  const output = run(process.execPath, [join(here, 'check-sessions.mjs'), workspace, mode, sessionsFile], {
    cwd: workspace,
    env: workspaceEnv(),
  });
  return JSON.parse(output.trim().split('\n').pop());
}

export async function benchChecks({ workspace, scratch }) {
  const sessions = prepareSessions(workspace, join(scratch, 'sessions'));
  const sessionsFile = join(scratch, 'sessions.json');
  writeFileSync(sessionsFile, JSON.stringify(sessions));
  const runs = { conformance: [], all: [], parse: [] };
  // Interleaved, so that a burst of load elsewhere on the machine hits every mode alike.
  for (let index = 0; index < REPETITIONS; index++) {
    for (const mode of Object.keys(runs)) runs[mode].push(pass(workspace, mode, sessionsFile));
  }
  const summary = (mode) => ({
    wallMs: median(runs[mode].map((entry) => entry.wallMs)),
    cpuMs: median(runs[mode].map((entry) => entry.cpuMs)),
    sessionMs: median(runs[mode].flatMap((entry) => entry.perSession)),
    findings: runs[mode][0].findings,
  });
  const conformance = summary('conformance');
  const all = summary('all');
  const parse = summary('parse');
  const detail = `${TASKS.length} sessions × ${FILES_PER_SESSION} files, one fresh process per pass, median of ${REPETITIONS}`;
  return [
    {
      bench: 'checks',
      figure: 'contract conformance, 12 sessions in all',
      value: conformance.wallMs,
      cpuMs: conformance.cpuMs,
      unit: 'ms',
      baseline: { label: 'parsing the same files', value: parse.wallMs },
      target: { text: '≤ 3 s', met: conformance.wallMs <= 3000 },
      note: `${detail}; ${Math.round(conformance.sessionMs)} ms per session; ${conformance.findings} findings (clean sessions)`,
    },
    {
      bench: 'checks',
      figure: 'every per-session check, 12 sessions in all',
      value: all.wallMs,
      cpuMs: all.cpuMs,
      unit: 'ms',
      baseline: { label: 'parsing the same files', value: parse.wallMs },
      note: `${detail}; ${Math.round(all.sessionMs)} ms per session; ${all.findings} findings`,
    },
  ];
}
