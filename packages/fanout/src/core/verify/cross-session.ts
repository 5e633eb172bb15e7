import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { extractClaims, normalizeRoute } from '../checks/claims';
import type { SessionResult } from '../session/result';
import { readWiredEditsFile } from '../session/wiring';
import { sessionDir } from '../../constants';

/**
 * Cross-session checks over the integrated workspace: each session can be right
 * on its own and the sessions wrong together. Plain data in (the sessions'
 * result.json and the files they landed in the workspace), problems out.
 */
export interface VerifyProblem {
  kind: 'symbol-collision' | 'route-collision' | 'port-collision' | 'dependency-conflict' | 'wiring-collision';
  message: string;
  /** The projects whose sessions caused it. */
  sessions: string[];
}

const CODE = /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/;
const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'] as const;

interface Claim {
  session: string;
  where: string;
}

/** Groups claims by key and keeps the keys claimed by more than one session. */
function contested(claims: Map<string, Claim[]>): [string, Claim[]][] {
  return [...claims].filter(([, list]) => new Set(list.map((claim) => claim.session)).size > 1).sort(([a], [b]) => a.localeCompare(b));
}

function add(claims: Map<string, Claim[]>, key: string, claim: Claim): void {
  claims.set(key, [...(claims.get(key) ?? []), claim]);
}

const sessionsOf = (list: Claim[]) => [...new Set(list.map((claim) => claim.session))].sort();
const places = (list: Claim[]) => list.map((claim) => `${claim.where} (${claim.session})`).join(', ');

export interface CrossSessionInput {
  workspaceRoot: string;
  /** The sessions to verify together: the succeeded ones of the run. */
  results: readonly SessionResult[];
  /**
   * Names every session exports by design: the reference's own exports, which
   * the pattern repeats in each sibling's package (`routes`, `handler`). Only
   * other names shared by several sessions are collisions.
   */
  sharedNames?: ReadonlySet<string>;
}

export function findCrossSessionProblems(input: CrossSessionInput): VerifyProblem[] {
  const symbols = new Map<string, Claim[]>();
  const routes = new Map<string, Claim[]>();
  const ports = new Map<string, Claim[]>();
  const dependencies = new Map<string, Map<string, Claim[]>>();

  for (const result of input.results) {
    const session = result.project;
    for (const file of result.files) {
      if (file.status === 'deleted') continue;
      const absolute = join(input.workspaceRoot, file.path);
      if (!existsSync(absolute)) continue;
      const text = readFileSync(absolute, 'utf-8');
      if (file.path.endsWith('package.json')) {
        let manifest: Record<string, Record<string, string> | undefined>;
        try {
          manifest = JSON.parse(text);
        } catch {
          continue;
        }
        for (const field of DEPENDENCY_FIELDS) {
          for (const [name, version] of Object.entries(manifest[field] ?? {})) {
            const versions = dependencies.get(name) ?? new Map<string, Claim[]>();
            add(versions, version, { session, where: `${file.path} ${field}` });
            dependencies.set(name, versions);
          }
        }
        continue;
      }
      if (!CODE.test(file.path) || /\.(spec|test)\.[cm]?[jt]sx?$/.test(file.path)) continue;
      const claims = extractClaims(file.path, text);
      for (const { name, line } of claims.exports) {
        if (name !== 'default' && !input.sharedNames?.has(name)) add(symbols, name, { session, where: `${file.path}:${line}` });
      }
      for (const { method, path, line } of claims.routes)
        add(routes, normalizeRoute(method, path), { session, where: `${file.path}:${line}` });
      for (const { port, line } of claims.ports) add(ports, String(port), { session, where: `${file.path}:${line}` });
    }
  }

  const problems: VerifyProblem[] = [...wiringCollisions(input)];
  for (const [name, list] of contested(symbols)) {
    problems.push({
      kind: 'symbol-collision',
      message: `${name} is exported by several sessions: ${places(list)}. Whatever imports more than one of them gets a clash. Give each a name of its own (the entity's), or move the shared one into the contracts.`,
      sessions: sessionsOf(list),
    });
  }
  for (const [route, list] of contested(routes)) {
    problems.push({
      kind: 'route-collision',
      message: `${route} is served by several sessions: ${places(list)}. Only one handler can own a route: give each session its own path.`,
      sessions: sessionsOf(list),
    });
  }
  for (const [port, list] of contested(ports)) {
    problems.push({
      kind: 'port-collision',
      message: `port ${port} is claimed by several sessions: ${places(list)}. Each session has its own ports (FANOUT_PORT_BASE): read the port from the environment.`,
      sessions: sessionsOf(list),
    });
  }
  for (const [name, versions] of [...dependencies].sort(([a], [b]) => a.localeCompare(b))) {
    if (versions.size < 2) continue;
    const list = [...versions.values()].flat();
    if (new Set(list.map((claim) => claim.session)).size < 2) continue;
    const detail = [...versions]
      .map(([version, claims]) => `${version} in ${claims.map((claim) => `${claim.where} (${claim.session})`).join(', ')}`)
      .join('; ');
    problems.push({
      kind: 'dependency-conflict',
      message: `${name} is added with different versions: ${detail}. Agree on one version (the root package.json's, if it has one).`,
      sessions: sessionsOf(list),
    });
  }
  return problems;
}

/** `path: '/dashboard'` in a route or page table entry. */
const PATH_ENTRY = /\bpath\s*:\s*(['"`])(\/[^'"`]*)\1/g;

/** The lines `session` has that `base` does not: what a session added to a wired file. */
function addedLines(base: string, session: string): { text: string; line: number }[] {
  const before = new Map<string, number>();
  for (const line of base.split('\n')) before.set(line, (before.get(line) ?? 0) + 1);
  const added: { text: string; line: number }[] = [];
  session.split('\n').forEach((text, index) => {
    const left = before.get(text) ?? 0;
    if (left > 0) before.set(text, left - 1);
    else if (text.trim() !== '') added.push({ text, line: index + 1 });
  });
  return added;
}

/**
 * What sessions registered in the same wired file, claimed twice: the same route
 * or page path, or the same exported name (a barrel's `export { X } from`).
 * Read from each session's recorded edits: the lines it added.
 */
function wiringCollisions(input: CrossSessionInput): VerifyProblem[] {
  const claims = new Map<string, Claim[]>();
  for (const result of input.results) {
    if (!result.wired?.length) continue;
    let edits;
    try {
      edits = readWiredEditsFile(sessionDir(input.workspaceRoot, result.project));
    } catch {
      continue;
    }
    for (const edit of edits) {
      // A line the workspace's file no longer holds (a repair changed it since) claims nothing.
      const file = join(input.workspaceRoot, edit.path);
      const now = existsSync(file) ? new Set(readFileSync(file, 'utf-8').split('\n')) : undefined;
      for (const { text, line } of addedLines(edit.base, edit.session)) {
        if (now && !now.has(text)) continue;
        for (const match of text.matchAll(PATH_ENTRY))
          add(claims, `${edit.path}\0path ${match[2]}`, { session: result.project, where: `${edit.path}:${line}` });
        if (CODE.test(edit.path) && /^\s*export\b/.test(text)) {
          for (const { name } of extractClaims(edit.path, text).exports) {
            if (name !== 'default') add(claims, `${edit.path}\0export ${name}`, { session: result.project, where: `${edit.path}:${line}` });
          }
        }
      }
    }
  }
  return contested(claims).map(([key, list]) => {
    const [file, claim] = key.split('\0');
    return {
      kind: 'wiring-collision' as const,
      message: `${claim} is registered in ${file} by several sessions: ${places(list)}. Each session must register its own: give each its own ${claim.startsWith('path') ? 'path' : 'name'}.`,
      sessions: sessionsOf(list),
    };
  });
}
