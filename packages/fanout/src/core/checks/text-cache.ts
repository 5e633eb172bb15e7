/**
 * A function of a file's text, remembered by key (the file's path) while the
 * text stays the same: several checks, and the warm-up before them, read the
 * same files of a session. Past `limit` keys the least recently computed goes.
 */
export function cachedByText<T>(limit: number, compute: (key: string, text: string) => T): (key: string, text: string) => T {
  const entries = new Map<string, { text: string; value: T }>();
  return (key, text) => {
    const known = entries.get(key);
    if (known?.text === text) return known.value;
    const value = compute(key, text);
    entries.delete(key);
    entries.set(key, { text, value });
    if (entries.size > limit) entries.delete(entries.keys().next().value as string);
    return value;
  };
}
