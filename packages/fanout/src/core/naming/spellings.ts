/**
 * The four spellings generated code gives one name: `line-items` (files),
 * `LineItems` (classes and types), `lineItems` (properties and variables) and
 * `LINE_ITEMS` (constants). They agree with `names()` from `@nx/devkit`, which
 * Nx's own generators use, so a workspace scaffolded by Nx and one scaffolded by
 * fanout spell a name alike (`spellings.spec.ts` compares the two); this module
 * exists so that a session, which only needs the spellings, does not load
 * `@nx/devkit` and everything behind it.
 */
export interface Spellings {
  /** kebab-case: `line-items` */
  fileName: string;
  /** PascalCase: `LineItems` */
  className: string;
  /** camelCase: `lineItems` */
  propertyName: string;
  /** CONSTANT_CASE: `LINE_ITEMS` */
  constantName: string;
}

/** A lowercase letter or digit followed by a capital: where a camelCase word ends. */
const CAMEL_BOUNDARY = /([a-z\d])(?=[A-Z])/g;

/** `lineItems` → `line-items`: camelCase words split, lowercased, spaces and inner underscores made hyphens. */
function fileNameOf(name: string): string {
  const lower = name.replace(CAMEL_BOUNDARY, '$1-').toLowerCase();
  // A leading underscore is kept (`_internal`); every other space or underscore joins words.
  const lead = lower.startsWith('_') ? '_' : '';
  return lead + lower.slice(lead.length).replace(/[ _]/g, '-');
}

/** `line-items` → `lineItems`: the runs of letters and digits, each after the first capitalized, the first letter lowered. */
function propertyNameOf(name: string): string {
  const [first = '', ...rest] = name.split(/[^A-Za-z\d]+/).filter((part) => part !== '');
  return lowerFirst(first) + rest.map(upperFirst).join('');
}

/** `lineItems` → `LINE_ITEMS`; a name already all in capitals (`LINE_ITEMS`, `USERS`) keeps its words. */
function constantNameOf(name: string): string {
  const words = name.toUpperCase() === name ? name.toLowerCase() : name;
  return fileNameOf(propertyNameOf(words))
    .replace(/[^A-Za-z\d]/g, '_')
    .toUpperCase();
}

function upperFirst(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function lowerFirst(word: string): string {
  return word.charAt(0).toLowerCase() + word.slice(1);
}

/** Every spelling of `name`, whichever of them it is given in. */
export function spellings(name: string): Spellings {
  const propertyName = propertyNameOf(name);
  return {
    fileName: fileNameOf(name),
    className: upperFirst(propertyName),
    propertyName,
    constantName: constantNameOf(name),
  };
}
