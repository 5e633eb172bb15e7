import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { dirname, join, relative } from 'path';
import { contractsEntry, moduleExports, parseModule } from '../module-exports';
import { typescript } from '../typescript';
import { entityNames, type EntityNames } from '../names';
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

/** Every file below `dir`, sorted; none when it does not exist. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
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

/**
 * Replaces every spelling of one entity by the same spelling of another, longest
 * first. Where two spellings of the source are the same word (`users` is both
 * the kebab and the camelCase plural), `identifier` mode picks the camelCase
 * target (`lineItems`) and `text` mode, for strings, paths and comments, the
 * kebab one (`line-items`).
 */
export function substitution(
  from: EntityNames,
  to: EntityNames,
  mode: 'identifier' | 'text' = 'identifier',
): (text: string) => string {
  const camel: (keyof EntityNames)[] = ['pluralPropertyName', 'propertyName'];
  const kebab: (keyof EntityNames)[] = ['plural', 'singular'];
  const keys: (keyof EntityNames)[] = [
    'pluralConstantName',
    'pluralClassName',
    ...(mode === 'identifier' ? [...camel, ...kebab] : [...kebab, ...camel]),
    'constantName',
    'className',
  ];
  const pairs = keys
    .map((key) => [from[key], to[key]] as const)
    .filter(([a], index, all) => all.findIndex(([b]) => b === a) === index)
    .sort((a, b) => b[0].length - a[0].length);
  const pattern = new RegExp(pairs.map(([a]) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const map = new Map(pairs);
  return (text) => text.replace(pattern, (match) => map.get(match) ?? match);
}

/**
 * Rewrites a TypeScript source token by token: identifiers in `identifier`
 * mode, everything else (strings, template text, comments) in `text` mode.
 */
export function substituteSource(source: string, from: EntityNames, to: EntityNames): string {
  const identifier = substitution(from, to, 'identifier');
  const text = substitution(from, to, 'text');
  const scanner = typescript.createScanner(typescript.ScriptTarget.Latest, false, typescript.LanguageVariant.Standard, source);
  // Braces opened inside `${...}` of a template, so its closing `}` resumes the template text.
  const braces: ('block' | 'template')[] = [];
  let output = '';
  for (let kind = scanner.scan(); kind !== typescript.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === typescript.SyntaxKind.OpenBraceToken) braces.push('block');
    else if (kind === typescript.SyntaxKind.TemplateHead) braces.push('template');
    else if (kind === typescript.SyntaxKind.CloseBraceToken && braces.pop() === 'template') {
      kind = scanner.reScanTemplateToken(false);
      if (kind === typescript.SyntaxKind.TemplateMiddle) braces.push('template');
    }
    const token = scanner.getTokenText();
    output += kind === typescript.SyntaxKind.Identifier ? identifier(token) : text(token);
  }
  return output;
}

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
