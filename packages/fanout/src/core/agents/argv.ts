/**
 * Command templates for the `command` agent: split into argv the way a POSIX
 * shell would quote, but without a shell. Placeholders are substituted inside
 * each element afterwards, so a value can never add, split or run anything.
 */
const PLACEHOLDERS = ['promptFile', 'worktree', 'project', 'projectRoot', 'feedbackFile'] as const;
export type Placeholder = (typeof PLACEHOLDERS)[number];

/** Splits a template into words: '...' is literal, "..." allows \" and \\, \ escapes one character. */
export function splitTemplate(template: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let index = 0; index < template.length; index++) {
    const char = template[index];
    if (quote === "'") {
      if (char === "'") quote = undefined;
      else current += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = undefined;
      else if (char === '\\' && (template[index + 1] === '"' || template[index + 1] === '\\')) current += template[++index];
      else current += char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\' && index + 1 < template.length) {
      current += template[++index];
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote) throw new Error(`The command template has an unterminated ${quote} quote: ${template}`);
  if (inWord) words.push(current);
  return words;
}

/** The argv of a template with `{placeholder}`s replaced; throws when there is no program. */
export function buildArgv(
  template: string,
  values: Record<Exclude<Placeholder, 'feedbackFile'>, string> & { feedbackFile?: string },
): string[] {
  const words = splitTemplate(template);
  if (words.length === 0 || words[0].trim() === '') {
    throw new Error('The command template names no program. Give one in fanout.md, e.g. command: "node scripts/agent.js {promptFile}".');
  }
  return words.map((word) =>
    word.replace(/\{(promptFile|worktree|project|projectRoot|feedbackFile)\}/g, (_, name: Placeholder) => values[name] ?? ''),
  );
}
