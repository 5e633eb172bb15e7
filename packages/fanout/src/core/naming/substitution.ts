import { typescript } from '../checks/typescript';
import { listFiles } from '../system/files';
import { entityNames, type EntityNames } from './names';

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
export function substitution(from: EntityNames, to: EntityNames, mode: 'identifier' | 'text' = 'identifier'): (text: string) => string {
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
