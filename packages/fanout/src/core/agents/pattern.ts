import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { dirname, join, relative } from 'path';
import { Project } from 'ts-morph';
import { entityNames, type EntityNames } from '../names';
import type { AgentAdapter, AgentReport, AgentSession } from './agent';

/**
 * `agent: pattern` (the default): offline and deterministic. Replicates the
 * reference into the task's project with every spelling of the reference's
 * entity replaced by the task's (users/Users/USERS/user/User → orders/Orders/...),
 * files renamed, and every name imported from the contracts checked to exist.
 */
export const patternAgent: AgentAdapter = {
  name: 'pattern',
  description: 'Built in, offline: replicates the reference for the task entity, renaming every spelling.',
  async run(session: AgentSession): Promise<AgentReport> {
    const referenceSrc = join(session.worktree, session.reference.root, 'src');
    if (!existsSync(referenceSrc)) {
      return { ok: false, error: `the reference "${session.reference.project}" has no src/ folder at ${session.reference.root}/src.` };
    }
    const from = referenceEntity(referenceSrc, session.reference.project);
    const to = entityNames(session.entity ?? session.project);
    const substitute = substitution(from, to);
    const written: string[] = [];
    for (const file of listFiles(referenceSrc)) {
      const target = join(session.worktree, session.projectRoot, 'src', substitute(relative(referenceSrc, file)));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, substitute(readFileSync(file, 'utf-8')));
      written.push(target);
    }
    const missing = missingContractImports(session, written);
    if (missing.length > 0) {
      return {
        ok: false,
        error:
          `the replicated code imports names the contracts do not export: ${missing.join(', ')}. ` +
          `Add the entity first: nx g fanout:contracts ${session.contracts.project} --entities=${to.singular}`,
      };
    }
    return {
      ok: true,
      summary: `replicated ${written.length} file(s) of ${session.reference.project} as ${to.plural} (${from.singular} → ${to.singular})`,
    };
  },
};

function listFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? listFiles(path) : [path];
    });
}

/** The reference's entity, read from its `<plural>.handler.ts`, else from its project name. */
export function referenceEntity(referenceSrc: string, referenceProject: string): EntityNames {
  const handler = listFiles(referenceSrc)
    .map((file) => /([^/\\]+)\.handler\.ts$/.exec(file)?.[1])
    .find((name) => name !== undefined);
  return entityNames(handler ?? referenceProject);
}

/** Replaces every spelling of one entity by the same spelling of another, longest first. */
export function substitution(from: EntityNames, to: EntityNames): (text: string) => string {
  const keys: (keyof EntityNames)[] = [
    'pluralConstantName',
    'pluralClassName',
    'pluralPropertyName',
    'plural',
    'constantName',
    'className',
    'propertyName',
    'singular',
  ];
  const pairs = keys
    .map((key) => [from[key], to[key]] as const)
    .filter(([a], index, all) => all.findIndex(([b]) => b === a) === index)
    .sort((a, b) => b[0].length - a[0].length);
  const pattern = new RegExp(pairs.map(([a]) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const map = new Map(pairs);
  return (text) => text.replace(pattern, (match) => map.get(match) ?? match);
}

/** Names imported from the contracts' import path that the contracts do not export. */
function missingContractImports(session: AgentSession, files: string[]): string[] {
  const project = new Project({ skipAddingFilesFromTsConfig: true, skipFileDependencyResolution: true });
  const index = join(session.worktree, session.contracts.root, 'src', 'index.ts');
  if (!existsSync(index)) return [];
  const exported = new Set(project.addSourceFileAtPath(index).getExportedDeclarations().keys());
  const missing = new Set<string>();
  for (const file of files.filter((path) => path.endsWith('.ts'))) {
    for (const declaration of project.addSourceFileAtPath(file).getImportDeclarations()) {
      if (declaration.getModuleSpecifierValue() !== session.contracts.importPath) continue;
      for (const named of declaration.getNamedImports()) {
        if (!exported.has(named.getName())) missing.add(named.getName());
      }
    }
  }
  return [...missing].sort();
}
