import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname, join, relative } from 'path';
import { contractsEntry, moduleExports, parseModule } from '../checks/module-exports';
import { typescript } from '../checks/typescript';
import { entityNames } from '../naming/names';
import { referenceEntity, substituteSource, substitution } from '../naming/substitution';
import { listFiles } from '../system/files';
import type { AgentAdapter, AgentReport, AgentSession } from './agent';

/**
 * `agent: pattern` (the default): offline and deterministic. Replicates the
 * reference into the task's project with every spelling of the reference's
 * entity replaced by the task's (users/Users/USERS/user/User → orders/Orders/...),
 * token by token with the TypeScript scanner (identifiers get camelCase, strings
 * and paths kebab-case), files renamed, and every name imported from the
 * contracts checked to exist (read from syntax, as the checks read it).
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
    const renamePath = substitution(from, to, 'text');
    const written: string[] = [];
    for (const file of listFiles(referenceSrc)) {
      const target = join(session.worktree, session.projectRoot, 'src', renamePath(relative(referenceSrc, file)));
      const source = readFileSync(file, 'utf-8');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, /\.[cm]?tsx?$/.test(file) ? substituteSource(source, from, to) : renamePath(source));
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

/** Names imported from the contracts' import path that the contracts do not export. */
function missingContractImports(session: AgentSession, files: string[]): string[] {
  const index = contractsEntry(session.worktree, session.contracts.root);
  if (!existsSync(index)) return [];
  const exported = moduleExports(index);
  const missing = new Set<string>();
  for (const file of files.filter((path) => path.endsWith('.ts'))) {
    for (const statement of parseModule(file)?.statements ?? []) {
      if (!typescript.isImportDeclaration(statement) || !typescript.isStringLiteral(statement.moduleSpecifier)) continue;
      if (statement.moduleSpecifier.text !== session.contracts.importPath) continue;
      const bindings = statement.importClause?.namedBindings;
      if (!bindings || !typescript.isNamedImports(bindings)) continue;
      for (const element of bindings.elements) {
        const name = (element.propertyName ?? element.name).text;
        if (!exported.has(name)) missing.add(name);
      }
    }
  }
  return [...missing].sort();
}
