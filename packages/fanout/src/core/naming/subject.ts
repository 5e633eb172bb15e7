import { spellings as caseForms } from './spellings';
import { pluralize, singularize } from './names';

/**
 * A project's subject: the word that differs between siblings of one shape
 * (`settings` in `feature-settings`, `users` in `users`, `email` in
 * `email-service`). Every sibling is its reference with the reference's subject
 * replaced by its own, in every spelling: this module is the one place that says
 * how.
 */

/**
 * Words Nx workspaces put around a project's subject to say its kind, not what it is about:
 * every sibling carries them alike (`email-channel`, `sms-channel`).
 */
const KIND_PREFIXES = [
  'feature',
  'feat',
  'ui',
  'data-access',
  'util',
  'utils',
  'shared-ui',
  'shared-util',
  // Folders that group one kind of part (`libs/channels/email` → `channels-email`).
  'channel',
  'channels',
  'adapter',
  'adapters',
  'provider',
  'providers',
];
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
  'channel',
  'adapter',
  'provider',
  'handler',
  'repository',
  'gateway',
  'controller',
  'worker',
];

/** `@org/feature-settings` → `feature-settings`; `libs/feature/settings` → `settings`. */
function baseName(projectName: string): string {
  const unscoped = projectName.replace(/^@[^/]+\//, '');
  return unscoped.slice(unscoped.lastIndexOf('/') + 1);
}

/** A kebab-case name without the kind words around it; a name that is nothing but kind words keeps its last one. */
function withoutKindWords(name: string): string {
  let subject = name;
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

function isKindWord(name: string): boolean {
  return KIND_PREFIXES.includes(name) || KIND_SUFFIXES.includes(name);
}

/**
 * The subject a project name suggests: the name without its scope and the kind words
 * around it (`feature-settings` → `settings`, `email-service` → `email`,
 * `@shop/ui-product-card` → `product-card`). A name that is nothing but kind words is
 * its own subject.
 */
export function defaultSubject(projectName: string): string {
  return withoutKindWords(caseForms(baseName(projectName)).fileName);
}

/** What a project's subject is read from: its name, and the names its sources give files and exports. */
export interface SubjectEvidence {
  projectName: string;
  /** The name of the project's folder (`product-detail-page` for `libs/products/product-detail-page`). */
  folderName?: string;
  /** The base names of its source files (`product-detail-page.component.ts`). */
  fileNames: readonly string[];
  /** The names its source files export (`ProductDetailPageComponent`). */
  symbols: readonly string[];
}

export interface SubjectProposal {
  /** The subject, when one word run is the best evidence alone. */
  subject?: string;
  /** The best candidates: the subject alone, or the ones that tie, in the order the project name has them. */
  candidates: string[];
}

/** The lowercase words of a name in any spelling: `ProductDetailPageComponent`, `product-detail-page.component.ts`, `EMAIL_QUEUE`. */
function wordsOf(name: string): string[] {
  return name
    .split(/[^A-Za-z\d]+/)
    .filter((part) => part !== '')
    .flatMap((part) => caseForms(part.toUpperCase() === part ? part.toLowerCase() : part).fileName.split('-'));
}

function holdsRun(words: readonly string[], run: readonly string[]): boolean {
  for (let start = 0; start + run.length <= words.length; start++) {
    if (run.every((word, offset) => words[start + offset] === word)) return true;
  }
  return false;
}

/**
 * Where in a project's name its subject may lie: after the words of its parent
 * folders when the name spells its path (`products-product-detail-page` in
 * `libs/products/product-detail-page`), for those words name the group the
 * project shares with its siblings; else anywhere.
 */
function subjectWordsFrom(name: readonly string[], folderName: string | undefined): number {
  const folder = folderName === undefined ? [] : wordsOf(folderName);
  const from = name.length - folder.length;
  return from > 0 && folder.every((word, index) => name[from + index] === word) ? from : 0;
}

/**
 * The subject a project's name, file names and exported symbols share: the runs of
 * words of its name (kind words around them left out) that its file names or
 * exported symbols also spell, in any case. A run found in both file names and
 * symbols beats one found in only one of them, then a longer run a shorter one
 * (`products-product-detail-page` in the folder `product-detail-page`,
 * `product-detail-page.component.ts` and `ProductDetailPageComponent` →
 * `product-detail`; `channel-email`, `email-channel.ts` and `EmailChannel` →
 * `email`). Runs that tie are all proposed, in the order the name has them, and
 * none is chosen.
 */
export function proposeSubject(evidence: SubjectEvidence): SubjectProposal {
  const name = wordsOf(baseName(evidence.projectName));
  const spelt = `-${name.join('-')}-`;
  const files = evidence.fileNames.map(wordsOf);
  const symbols = evidence.symbols.map(wordsOf);
  const runsFrom = (first: number) => {
    const found = new Map<string, { words: number; places: number; at: number }>();
    for (let start = first; start < name.length; start++) {
      for (let end = start + 1; end <= name.length; end++) {
        const subject = withoutKindWords(name.slice(start, end).join('-'));
        if (found.has(subject) || isKindWord(subject)) continue;
        const run = subject.split('-');
        const places = [files, symbols].filter((names) => names.some((words) => holdsRun(words, run))).length;
        if (places > 0) found.set(subject, { words: run.length, places, at: spelt.indexOf(`-${subject}-`) });
      }
    }
    return found;
  };
  // A folder named by its kind alone (`libs/orders/feature`) leaves the subject to its parents' words.
  const inFolder = runsFrom(subjectWordsFrom(name, evidence.folderName));
  const found = inFolder.size > 0 ? inFolder : runsFrom(0);
  const ranked = [...found].sort(([, a], [, b]) => b.places - a.places || b.words - a.words || a.at - b.at);
  if (ranked.length === 0) return { candidates: [] };
  const [, best] = ranked[0];
  const candidates = ranked.filter(([, each]) => each.places === best.places && each.words === best.words).map(([subject]) => subject);
  return candidates.length === 1 ? { subject: candidates[0], candidates } : { candidates };
}

/** Whether some spelling of `subject` (`settings`, `Settings`, `SETTINGS`) occurs in one of the file names or symbols. */
export function subjectOccurs(subject: string, evidence: Pick<SubjectEvidence, 'fileNames' | 'symbols'>): boolean {
  const spellings = spellingsOf(subject);
  return [...evidence.fileNames, ...evidence.symbols].some((name) => spellings.some((spelling) => name.includes(spelling)));
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
function spellingsOf(subject: string): string[] {
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
function pluralOf(subject: string): string {
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
