import { typescript } from '../system/typescript';
import { listFiles } from '../system/files';
import { defaultSubject, subjectSubstitution, taskSubject, type SpellingMode, type Subjects } from './subject';

/**
 * The reference's subject: the one recorded for it (`nx g fanout:reference`), else
 * the API scaffold's, read from its `<plural>.handler.ts`, else the one its project
 * name suggests (`feature-settings` → `settings`).
 */
export function referenceSubject(referenceSrc: string, referenceProject: string, recorded?: string): string {
  return recorded ?? scaffoldEntity(referenceSrc) ?? defaultSubject(referenceProject);
}

/** The API scaffold's handler file, `<plural>.handler.ts`, whose name holds its entity. */
export const SCAFFOLD_HANDLER = /([^/\\]+)\.handler\.ts$/;

/** The entity (plural) of a reference made by the API scaffold, from its `<plural>.handler.ts`; undefined for any other. */
export function scaffoldEntity(referenceSrc: string): string | undefined {
  return listFiles(referenceSrc)
    .map((file) => SCAFFOLD_HANDLER.exec(file)?.[1])
    .find((name) => name !== undefined);
}

/**
 * The subjects of one session: the reference's (recorded, the API scaffold's entity,
 * or its project name's) and the task's (see taskSubject).
 */
export function resolveSubjects(
  referenceSrc: string,
  reference: { project: string; subject?: string },
  task: { project: string; subject?: string; entity?: string },
): Subjects {
  const entity = scaffoldEntity(referenceSrc);
  const subject = reference.subject ?? entity ?? defaultSubject(reference.project);
  return { reference: subject, task: taskSubject(task, { project: reference.project, subject, entity: entity !== undefined }) };
}

/** Replaces every spelling of the reference's subject by the sibling's: see subjectPairs. */
export function substitution(from: string, to: string, mode: SpellingMode = 'identifier'): (text: string) => string {
  return subjectSubstitution(from, to, mode);
}

/**
 * Rewrites a TypeScript source token by token: identifiers in `identifier`
 * mode, everything else (strings, template text, comments) in `text` mode.
 */
export function substituteSource(source: string, from: string, to: string, jsx = false): string {
  const identifier = substitution(from, to, 'identifier');
  const text = substitution(from, to, 'text');
  const scanner = typescript.createScanner(
    typescript.ScriptTarget.Latest,
    false,
    jsx ? typescript.LanguageVariant.JSX : typescript.LanguageVariant.Standard,
    source,
  );
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
