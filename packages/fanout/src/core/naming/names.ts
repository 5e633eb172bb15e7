import { spellings } from './spellings';

/**
 * Every spelling of one name that generated code uses. `users` gives
 * users / Users / USERS for the collection and user / User / USER for one record,
 * which is what lets a sibling be produced from the reference by substitution.
 */
export interface EntityNames {
  /** kebab-case singular: `line-item` */
  singular: string;
  /** kebab-case plural: `line-items` */
  plural: string;
  /** `LineItem` */
  className: string;
  /** `LineItems` */
  pluralClassName: string;
  /** `lineItem` */
  propertyName: string;
  /** `lineItems` */
  pluralPropertyName: string;
  /** `LINE_ITEM` */
  constantName: string;
  /** `LINE_ITEMS` */
  pluralConstantName: string;
}

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$/;

/** Letters and digits, words joined by single `-` or `_`, starting with a letter. */
export function isPlainName(value: string): boolean {
  return IDENTIFIER.test(value);
}

/**
 * Throws unless `value` is a plain name: letters and digits, words joined by
 * `-` or `_`, starting with a letter. Rejecting separators and dots here is what
 * keeps a name from ever becoming a path outside the workspace.
 */
export function assertValidName(value: string, what: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new Error(`The ${what} is required.`);
  }
  if (!isPlainName(value)) {
    throw new Error(
      `The ${what} "${value}" is not a valid name: use letters, digits and single "-" or "_" between words, ` +
        `starting with a letter (for example "users" or "line-items"). Paths and ".." are not allowed here; ` +
        `use --directory to choose where the project goes.`,
    );
  }
}

/**
 * What a project name may not hold to name a session: fanout uses it as a folder
 * (`.fanout/worktrees/<project>`) and a git branch (`fanout/<project>`). The rest
 * ($, ;, |, quotes, parentheses) is only data: no shell ever sees a name.
 */
const SESSION_NAME_RULES: [RegExp, string][] = [
  // eslint-disable-next-line no-control-regex
  [/[\u0000-\u001f\u007f]/, 'a control character (a newline, a tab)'],
  [/\s/, 'a space'],
  [/[\\~^:?*[]/, 'any of \\ ~ ^ : ? * ['],
  [/@\{/, '"@{"'],
  [/^[/-]|\/$|\/\//, 'a leading "/" or "-", a trailing "/" or an empty part ("//")'],
  [/(^|\/)\.|\.\.|\.lock(\/|$)|\.(\/|$)/, 'a part that starts or ends with "." (".", "..", ".git") or ends with ".lock"'],
];

/**
 * Throws unless `project` can name a fanout session: a folder inside
 * `.fanout/` and a git branch. npm-style names (`@org/orders`) are fine.
 */
export function assertSessionName(project: string): void {
  if (typeof project !== 'string' || project === '') throw new Error('A fanout task needs a project name.');
  const broken = SESSION_NAME_RULES.find(([rule]) => rule.test(project));
  if (broken) {
    throw new Error(
      `The project name ${JSON.stringify(project)} cannot name a fanout session: it is used as a folder ` +
        `(.fanout/worktrees/<project>) and a git branch (fanout/<project>), so it may not contain ${broken[1]}. ` +
        'Rename the project ("name" in its project.json or package.json).',
    );
  }
}

/**
 * Throws unless `directory` is a relative path that stays inside the workspace.
 * Returns it normalised to forward slashes without a trailing slash.
 */
export function normalizeWorkspaceDirectory(directory: string): string {
  const value = directory.trim().replace(/\\/g, '/');
  if (value === '') {
    throw new Error('The directory must not be empty.');
  }
  if (value.startsWith('/') || /^[A-Za-z]:/.test(value)) {
    throw new Error(`The directory "${directory}" is absolute; give a relative path (from where nx g runs), such as "libs/contracts".`);
  }
  const segments = value.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.some((segment) => segment === '..')) {
    throw new Error(
      `The directory "${directory}" contains "..", which could leave the workspace; give a path inside it, such as "libs/contracts".`,
    );
  }
  for (const segment of segments) {
    if (!/^[A-Za-z0-9@._-]+$/.test(segment)) {
      throw new Error(`The directory "${directory}" has an unusual segment "${segment}": use letters, digits, ".", "-", "_" and "@" only.`);
    }
  }
  if (segments.length === 0) {
    throw new Error(`The directory "${directory}" is the workspace root; give a folder for the project, such as "libs/contracts".`);
  }
  return segments.join('/');
}

/** English plural of a kebab-case word; only the last word is inflected. */
export function pluralize(word: string): string {
  if (/(s|x|z|ch|sh)$/.test(word)) return `${word}es`;
  if (/[^aeiou]y$/.test(word)) return `${word.slice(0, -1)}ies`;
  return `${word}s`;
}

/** English singular of a kebab-case word; the inverse of `pluralize` for the words it makes. */
export function singularize(word: string): string {
  if (/[^aeiou]ies$/.test(word)) return `${word.slice(0, -3)}y`;
  if (/(s|x|z|ch|sh)es$/.test(word)) return word.slice(0, -2);
  if (/[^s]s$/.test(word)) return word.slice(0, -1);
  return word;
}

/** All the spellings of an entity, from either its singular or its plural. */
export function entityNames(name: string): EntityNames {
  const singular = singularize(spellings(name).fileName);
  const plural = pluralize(singular);
  const one = spellings(singular);
  const many = spellings(plural);
  return {
    singular,
    plural,
    className: one.className,
    pluralClassName: many.className,
    propertyName: one.propertyName,
    pluralPropertyName: many.propertyName,
    constantName: one.constantName,
    pluralConstantName: many.constantName,
  };
}

/** Splits `user,order, product` into distinct validated entity names, in order. */
export function parseEntityList(value: string | string[] | undefined): EntityNames[] {
  const raw = Array.isArray(value) ? value : (value ?? '').split(',');
  const seen = new Set<string>();
  const result: EntityNames[] = [];
  for (const item of raw.map((entry) => entry.trim()).filter(Boolean)) {
    assertValidName(item, 'entity name');
    const entity = entityNames(item);
    if (!seen.has(entity.singular)) {
      seen.add(entity.singular);
      result.push(entity);
    }
  }
  return result;
}
