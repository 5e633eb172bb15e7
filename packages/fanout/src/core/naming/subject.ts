import { spellings as caseForms } from './spellings';
import { pluralize, singularize } from './names';

/**
 * A project's subject: the word that differs between siblings of one shape
 * (`settings` in `feature-settings`, `users` in `users`, `email` in
 * `email-service`). Every sibling is its reference with the reference's subject
 * replaced by its own, in every spelling: this module is the one place that says
 * how.
 */

/** Words Nx workspaces put around a project's subject to say its kind, not what it is about. */
const KIND_PREFIXES = ['feature', 'feat', 'ui', 'data-access', 'util', 'utils', 'shared-ui', 'shared-util'];
const KIND_SUFFIXES = [
  'page',
  'pages',
  'view',
  'views',
  'screen',
  'service',
  'services',
  'server',
  'client',
  'api',
  'feature',
  'ui',
  'data-access',
  'util',
  'utils',
  'lib',
  'component',
  'components',
  'module',
  'store',
  'state',
];

/** `@org/feature-settings` → `feature-settings`; `libs/feature/settings` → `settings`. */
function baseName(projectName: string): string {
  const unscoped = projectName.replace(/^@[^/]+\//, '');
  return unscoped.slice(unscoped.lastIndexOf('/') + 1);
}

/**
 * The subject a project name suggests: the name without its scope and the kind words
 * around it (`feature-settings` → `settings`, `email-service` → `email`,
 * `@shop/ui-product-card` → `product-card`). A name that is nothing but kind words is
 * its own subject.
 */
export function defaultSubject(projectName: string): string {
  let subject = caseForms(baseName(projectName)).fileName;
  for (let changed = true; changed; ) {
    changed = false;
    for (const prefix of KIND_PREFIXES) {
      if (subject.startsWith(`${prefix}-`) && subject.length > prefix.length + 1) {
        subject = subject.slice(prefix.length + 1);
        changed = true;
      }
    }
    for (const suffix of KIND_SUFFIXES) {
      if (subject.endsWith(`-${suffix}`) && subject.length > suffix.length + 1) {
        subject = subject.slice(0, -(suffix.length + 1));
        changed = true;
      }
    }
  }
  return subject;
}

/**
 * The reference's name around its subject (`feature-settings`, subject `settings` →
 * `feature-` and ``), and the subject a name in that pattern holds, if it is one.
 */
function namePattern(referenceName: string, referenceSubject: string) {
  const reference = baseName(referenceName);
  const subject = caseForms(referenceSubject).fileName;
  const at = reference.indexOf(subject);
  if (at < 0) return undefined;
  const [before, after] = [reference.slice(0, at), reference.slice(at + subject.length)];
  const subjectOf = (name: string) =>
    name.startsWith(before) && name.endsWith(after) && name.length > before.length + after.length
      ? name.slice(before.length, name.length - after.length)
      : undefined;
  return { before, after, subjectOf };
}

/**
 * A sibling's project name from the reference's: its subject replaced
 * (`feature-settings`, subject `settings`, task `dashboard` → `feature-dashboard`).
 * A task name that already follows the pattern (`feature-dashboard`) is kept, and
 * so is every name when the reference's name does not hold its subject.
 */
export function siblingName(referenceName: string, referenceSubject: string, task: string): string {
  const pattern = namePattern(referenceName, referenceSubject);
  if (!pattern || pattern.subjectOf(task) !== undefined) return task;
  return `${pattern.before}${task}${pattern.after}`;
}

/**
 * A sibling's subject, read back from its project name with the reference's
 * pattern (`feature-dashboard` → `dashboard`); else the name's default subject.
 */
export function siblingSubject(referenceName: string, referenceSubject: string, taskProject: string): string {
  return namePattern(referenceName, referenceSubject)?.subjectOf(baseName(taskProject)) ?? defaultSubject(taskProject);
}

/** The reference's subject and the task's: what a sibling replaces, and with what. */
export interface Subjects {
  reference: string;
  task: string;
}

/** Where an identifier and a piece of text would spell a word the same way, which spelling wins. */
export type SpellingMode = 'identifier' | 'text';

/** One spelling of a subject and what kind of place it belongs in. */
interface Spelling {
  value: string;
  /** kebab and snake belong in text (paths, strings, CSS); camel in identifiers; the others in both. */
  kind: 'kebab' | 'snake' | 'camel' | 'pascal' | 'constant';
}

/** Every spelling of a subject: kebab, snake, camel, Pascal and CONSTANT case. */
export function spellingsOf(subject: string): string[] {
  return [...new Set(spellings(subject).map((spelling) => spelling.value))];
}

function spellings(subject: string): Spelling[] {
  const { fileName, propertyName, className, constantName } = caseForms(subject);
  return [
    { value: fileName, kind: 'kebab' },
    { value: fileName.replace(/-/g, '_'), kind: 'snake' },
    { value: propertyName, kind: 'camel' },
    { value: className, kind: 'pascal' },
    { value: constantName, kind: 'constant' },
  ];
}

/**
 * Whether a subject is a plural noun whose singular its code may also use
 * (`users`/`user`, `line-items`/`line-item`). `settings` is one too; `status`,
 * `analysis`, `address` and `news` are not.
 */
export function isPluralNoun(subject: string): boolean {
  const last = caseForms(subject).fileName.split('-').pop() ?? '';
  if (/(us|is|ss|news|ics)$/.test(last)) return false;
  const singular = singularize(last);
  return singular !== last && pluralize(singular) === last;
}

/** `order` → `orders`, `line-item` → `line-items`; a plural noun stays as it is. */
export function pluralOf(subject: string): string {
  if (isPluralNoun(subject)) return caseForms(subject).fileName;
  const words = caseForms(subject).fileName.split('-');
  words.push(pluralize(words.pop() ?? ''));
  return words.join('-');
}

function singularOf(subject: string): string {
  const words = caseForms(subject).fileName.split('-');
  words.push(singularize(words.pop() ?? ''));
  return words.join('-');
}

/**
 * The (from, to) pairs that turn the reference's subject into a sibling's, in every
 * spelling, longest first. Singular and plural are both mapped only where both
 * subjects are plural nouns (`users` → `orders` also maps `user` → `order`): a
 * page about `settings` becomes a page about `dashboard`, never `dashboards`.
 * In `identifier` mode a word spelt alike in kebab and camel case maps to the camel
 * spelling (`users` → `lineItems`), in `text` mode to the kebab one (`line-items`).
 */
export function subjectPairs(from: string, to: string, mode: SpellingMode = 'identifier'): [string, string][] {
  const subjects: [string, string][] = [[from, to]];
  if (isPluralNoun(from) && isPluralNoun(to)) subjects.push([singularOf(from), singularOf(to)]);
  const preferred: Spelling['kind'][] =
    mode === 'identifier' ? ['pascal', 'constant', 'camel', 'kebab', 'snake'] : ['pascal', 'constant', 'kebab', 'snake', 'camel'];
  const pairs = new Map<string, string>();
  for (const [a, b] of subjects) {
    const source = spellings(a);
    const target = spellings(b);
    for (const kind of preferred) {
      const value = source.find((spelling) => spelling.kind === kind)?.value;
      const replacement = target.find((spelling) => spelling.kind === kind)?.value;
      if (value && replacement !== undefined && !pairs.has(value)) pairs.set(value, replacement);
    }
  }
  return [...pairs].sort((a, b) => b[0].length - a[0].length);
}

/** Replaces every spelling of the reference's subject by the sibling's (see subjectPairs). */
export function subjectSubstitution(from: string, to: string, mode: SpellingMode = 'identifier'): (text: string) => string {
  const pairs = subjectPairs(from, to, mode).filter(([a, b]) => a !== b);
  if (pairs.length === 0) return (text) => text;
  const pattern = new RegExp(pairs.map(([a]) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  const map = new Map(pairs);
  return (text) => text.replace(pattern, (match) => map.get(match) ?? match);
}

/**
 * A task's subject: the one its fanout.md names (`subject:`), else read from its
 * project name with the reference's pattern (`feature-dashboard` → `dashboard`).
 * Against the API scaffold, whose subject is an entity's plural (`users`), a task's
 * subject is the plural of its entity (`entity: order` or a project `order` → `orders`).
 */
export function taskSubject(
  task: { project: string; subject?: string; entity?: string },
  reference: { project: string; subject: string; entity: boolean },
): string {
  if (task.subject) return caseForms(task.subject).fileName;
  const subject = task.entity ? caseForms(task.entity).fileName : siblingSubject(reference.project, reference.subject, task.project);
  return reference.entity ? pluralOf(subject) : subject;
}
