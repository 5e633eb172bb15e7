/**
 * Orders text by its UTF-16 code units, as `Array.prototype.sort` does by default: the same order
 * on every machine and in every locale, and without the ICU collator that the first
 * `localeCompare` of a process loads (several milliseconds, paid by every replay's batch).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
