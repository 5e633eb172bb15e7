import { existsSync, readFileSync, writeFileSync } from 'fs';
import { substituteSource, substitution } from '../naming/substitution';
import { typescript } from '../system/typescript';

/** An entry of a list or a map that spans several lines and names the reference (a lazy route, a nav item). */
interface Entry {
  /** 0-based lines of its first and last character. */
  startLine: number;
  endLine: number;
  /** Column just past its last character, on endLine. */
  endColumn: number;
  /** Its text and the indentation of its first line. */
  text: string;
  indent: string;
  /** Its offsets in the source, and whether it is an element of an array literal (else a property of an object literal). */
  start: number;
  end: number;
  element: boolean;
}

/**
 * The multi-line entries of array literals and object literals that mention the
 * reference's subject: each is copied whole for the task, never line by line
 * (a line-by-line copy of `loadChildren: () =>\n import(...)\n .then(...)` is not code).
 *
 * The entry is the outermost such member, unless it names the reference only
 * through list entries nested in it: then those are the entries. So in an Angular
 * root module, `imports: [RouterModule.forRoot([...routes])]` is not copied, the
 * route in it is; a route with `path: 'settings'` and `children` is copied whole.
 */
function multiLineEntries(source: string, path: string, mentions: (text: string) => boolean): Entry[] {
  const file = typescript.createSourceFile(path, source, typescript.ScriptTarget.Latest, true);
  const lines = source.split('\n');
  const within = (node: import('ts-morph').ts.Node): Entry[] => {
    const entries: Entry[] = [];
    const visit = (child: import('ts-morph').ts.Node): void => {
      const members = typescript.isArrayLiteralExpression(child)
        ? child.elements
        : typescript.isObjectLiteralExpression(child)
          ? child.properties
          : undefined;
      if (!members) {
        typescript.forEachChild(child, visit);
        return;
      }
      for (const member of members) {
        const start = member.getStart(file);
        const first = file.getLineAndCharacterOfPosition(start);
        const last = file.getLineAndCharacterOfPosition(member.getEnd());
        const text = member.getText(file);
        if (last.line === first.line || !mentions(text)) {
          visit(member);
          continue;
        }
        const inner = within(member);
        let outside = text;
        for (const entry of [...inner].reverse()) {
          outside = outside.slice(0, entry.start - start) + outside.slice(entry.end - start);
        }
        // Only list entries are taken out of it: a property (`loadChildren: () => ...`) belongs to its record.
        if (inner.length > 0 && inner.every((entry) => entry.element) && !mentions(outside)) {
          entries.push(...inner);
          continue;
        }
        entries.push({
          startLine: first.line,
          endLine: last.line,
          endColumn: last.character,
          text,
          indent: /^\s*/.exec(lines[first.line])?.[0] ?? '',
          start,
          end: member.getEnd(),
          element: typescript.isArrayLiteralExpression(child),
        });
      }
    };
    visit(node);
    return entries;
  };
  return within(file);
}

/**
 * Registers the task in a wired file as the reference is registered there: each
 * entry that names the reference's subject (its import, its route, its nav item)
 * is followed by the same entry for the task's subject, unless the file already
 * has it. A one-line entry is copied as a line; an entry of a list or map that
 * spans several lines is copied whole, after the reference's, with a comma
 * between. Returns whether the file changed.
 */
export function wireLikeReference(file: string, from: string, to: string): boolean {
  if (!existsSync(file)) return false;
  const source = readFileSync(file, 'utf-8');
  const code = /\.[cm]?[jt]sx?$/.test(file);
  const jsx = /x$/.test(file);
  const rename = code ? (text: string) => substituteSource(text, from, to, jsx) : substitution(from, to, 'text');
  const lines = source.split('\n');
  const entries = code ? multiLineEntries(source, file, (text) => rename(text) !== text) : [];
  const inEntry = (line: number) => entries.some((entry) => line >= entry.startLine && line <= entry.endLine);
  const present = new Set(lines);
  const out: string[] = [];
  for (const [index, line] of lines.entries()) {
    const ending = entries.find((entry) => entry.endLine === index);
    if (ending) {
      const copy = rename(ending.text);
      // Already registered: the task's entry is in the file, whatever its indentation.
      const squeeze = (text: string) => text.replace(/\s+/g, '');
      if (squeeze(source).includes(squeeze(copy))) out.push(line);
      else out.push(`${line.slice(0, ending.endColumn)},\n${ending.indent}${copy}${line.slice(ending.endColumn)}`);
      continue;
    }
    out.push(line);
    if (inEntry(index)) continue;
    const replaced = rename(line);
    if (replaced !== line && !present.has(replaced)) {
      out.push(replaced);
      present.add(replaced);
    }
  }
  const wired = out.join('\n');
  if (wired === source) return false;
  writeFileSync(file, wired);
  return true;
}
