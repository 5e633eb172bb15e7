/**
 * Changes the text of a JSON (or JSONC) file to hold a new value by editing only
 * what changed: the properties and items left alone keep their layout, comments
 * and indentation. A workspace writes its arrays on one line or one item a line,
 * and a generator that re-serializes the whole file (as `JSON.stringify` does)
 * rewrites every array it did not mean to touch.
 */

type Layout = 'inline' | 'expanded';

type JsonNode =
  | { kind: 'object'; start: number; end: number; properties: JsonProperty[] }
  | { kind: 'array'; start: number; end: number; items: JsonNode[] }
  | { kind: 'scalar'; start: number; end: number; value: unknown };

interface JsonProperty {
  key: string;
  /** Where the key's opening quote is. */
  start: number;
  value: JsonNode;
}

/** How the file writes what it holds, for the values an edit adds. */
interface Style {
  eol: string;
  unit: string;
  /** How the file's first non-empty array is written: the layout of new arrays. */
  arrays: Layout;
}

interface Edit {
  start: number;
  end: number;
  text: string;
}

/** The text changed to hold `value`, with every part whose value is unchanged left as it was. */
export function editJson(text: string, value: unknown): string {
  const root = new Parser(text).document();
  const style = styleOf(text, root);
  const edits: Edit[] = [];
  diff(text, root, value, style, edits, 'expanded');
  // From the end, so that earlier offsets stay true; at one offset a removal goes before an insertion.
  edits.sort((a, b) => b.start - a.start || b.end - a.end);
  let result = text;
  for (const edit of edits) result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  return result;
}

/** `around`: the layout of the container that holds the node. */
function diff(text: string, node: JsonNode, value: unknown, style: Style, edits: Edit[], around: Layout): void {
  if (deepEqual(valueOf(node), value)) return;
  if (node.kind === 'object' && isPlainObject(value)) return diffObject(text, node, value, style, edits, around);
  if (node.kind === 'array' && Array.isArray(value)) return diffArray(text, node, value, style, edits, around);
  replace(text, node, value, style, edits, around);
}

function diffObject(
  text: string,
  node: Extract<JsonNode, { kind: 'object' }>,
  value: Record<string, unknown>,
  style: Style,
  edits: Edit[],
  around: Layout,
): void {
  const kept = (property: JsonProperty) => Object.prototype.hasOwnProperty.call(value, property.key) && value[property.key] !== undefined;
  const known = new Set(node.properties.map((property) => property.key));
  const added = Object.entries(value).filter(([key, entry]) => !known.has(key) && entry !== undefined);
  const last = [...node.properties].reverse().find(kept);
  if (!last) return replace(text, node, value, style, edits, around);
  const layout = layoutOf(text, node);
  removeRuns(
    node,
    node.properties.map(kept),
    (index) => node.properties[index].start,
    (index) => node.properties[index].value.end,
    edits,
  );
  for (const property of node.properties) if (kept(property)) diff(text, property.value, value[property.key], style, edits, layout);
  if (added.length === 0) return;
  const indent = layout === 'expanded' ? lineIndent(text, last.start) : '';
  const members = added.map(
    ([key, entry]) => `${JSON.stringify(key)}: ${render(entry, layout === 'inline' ? 'inline' : newLayout(entry, style), indent, style)}`,
  );
  const lastOfAll = last === node.properties[node.properties.length - 1];
  appendMembers(text, last.value.end, lastOfAll, members, layout, indent, style, edits);
}

function diffArray(
  text: string,
  node: Extract<JsonNode, { kind: 'array' }>,
  value: unknown[],
  style: Style,
  edits: Edit[],
  around: Layout,
): void {
  const old = node.items.map(valueOf);
  const layout = layoutOf(text, node);
  if (old.length === value.length) {
    node.items.forEach((item, index) => diff(text, item, value[index], style, edits, layout));
    return;
  }
  const appended = old.length > 0 && old.length < value.length && old.every((item, index) => deepEqual(item, value[index]));
  if (!appended) return replace(text, node, value, style, edits, around);
  const last = node.items[node.items.length - 1];
  const indent = layout === 'expanded' ? lineIndent(text, last.start) : '';
  const itemLayout = last.kind === 'scalar' ? undefined : layoutOf(text, last);
  const members = value
    .slice(old.length)
    .map((item) => render(item, layout === 'inline' ? 'inline' : (itemLayout ?? newLayout(item, style)), indent, style));
  appendMembers(text, last.end, true, members, layout, indent, style, edits);
}

/**
 * Adds members after the one that ends at `after`: on its line, or each on a line of
 * its own. After the container's last member, they go below that member's line,
 * its trailing comma and comment staying with it.
 */
function appendMembers(
  text: string,
  after: number,
  lastOfAll: boolean,
  members: string[],
  layout: Layout,
  indent: string,
  style: Style,
  edits: Edit[],
): void {
  if (layout === 'inline') {
    edits.push({ start: after, end: after, text: members.map((member) => `, ${member}`).join('') });
    return;
  }
  const lines = members.map((member) => `${style.eol}${indent}${member}`);
  const newline = text.slice(after).search(/\r?\n/);
  const lineEnd = newline === -1 ? text.length : after + newline;
  const tail = /^[ \t]*(,)?[ \t]*(\/\/.*|\/\*.*?\*\/)?[ \t]*$/.exec(text.slice(after, lineEnd));
  if (!lastOfAll || !tail || (!tail[1] && !tail[2])) {
    edits.push({ start: after, end: after, text: lines.map((line) => `,${line}`).join('') });
  } else if (tail[1]) {
    edits.push({ start: lineEnd, end: lineEnd, text: `${lines.join(',')},` });
  } else {
    edits.push({ start: after, end: after, text: ',' }, { start: lineEnd, end: lineEnd, text: lines.join(',') });
  }
}

/** Removes each run of members not kept, with the comma that joins it to the members kept. */
function removeRuns(
  node: JsonNode,
  keep: boolean[],
  startOf: (index: number) => number,
  endOf: (index: number) => number,
  edits: Edit[],
): void {
  for (let first = 0; first < keep.length; first++) {
    if (keep[first]) continue;
    let last = first;
    while (last + 1 < keep.length && !keep[last + 1]) last++;
    if (first > 0) edits.push({ start: endOf(first - 1), end: endOf(last), text: '' });
    else if (last + 1 < keep.length) edits.push({ start: startOf(0), end: startOf(last + 1), text: '' });
    else edits.push({ start: node.start + 1, end: node.end - 1, text: '' });
    first = last;
  }
}

/** The node's text replaced by the value, written as the node was (on one line or one member a line). */
function replace(text: string, node: JsonNode, value: unknown, style: Style, edits: Edit[], around: Layout): void {
  const members = node.kind === 'array' ? node.items : node.kind === 'object' ? node.properties.map((property) => property.value) : [];
  // An empty container says nothing of how the file writes one that is not, but one line's members stay on it.
  const layout = members.length > 0 ? layoutOf(text, node) : around === 'inline' ? 'inline' : newLayout(value, style);
  const container = members.find((member) => member.kind !== 'scalar');
  const memberLayout = container ? layoutOf(text, container) : undefined;
  edits.push({ start: node.start, end: node.end, text: render(value, layout, lineIndent(text, node.start), style, memberLayout) });
}

function render(value: unknown, layout: Layout, indent: string, style: Style, memberLayout?: Layout): string {
  const isArray = Array.isArray(value);
  if (!isArray && !isPlainObject(value)) return JSON.stringify(value) ?? 'null';
  const entries: [string | undefined, unknown][] = isArray
    ? value.map((item) => [undefined, item])
    : Object.entries(value).filter(([, entry]) => entry !== undefined);
  const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
  if (entries.length === 0) return `${open}${close}`;
  const inner = layout === 'inline' ? indent : `${indent}${style.unit}`;
  const members = entries.map(([key, entry]) => {
    const entryLayout = layout === 'inline' ? 'inline' : (memberLayout ?? newLayout(entry, style));
    return `${key === undefined ? '' : `${JSON.stringify(key)}: `}${render(entry, entryLayout, inner, style)}`;
  });
  if (layout === 'inline') return isArray ? `[${members.join(', ')}]` : `{ ${members.join(', ')} }`;
  return `${open}${style.eol}${members.map((member) => `${inner}${member}`).join(`,${style.eol}`)}${style.eol}${indent}${close}`;
}

/** A new array is written as the file writes arrays; a new object one property a line. */
function newLayout(value: unknown, style: Style): Layout {
  return Array.isArray(value) ? style.arrays : 'expanded';
}

/** Whether a container's members start on a line of their own. */
function layoutOf(text: string, node: JsonNode): Layout {
  if (node.kind === 'scalar') return 'inline';
  const first = node.kind === 'array' ? node.items[0]?.start : node.properties[0]?.start;
  return /[\r\n]/.test(text.slice(node.start, first ?? node.end)) ? 'expanded' : 'inline';
}

function lineIndent(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  return /^[ \t]*/.exec(text.slice(lineStart))?.[0] ?? '';
}

function styleOf(text: string, root: JsonNode): Style {
  const indented = /\n([ \t]+)\S/.exec(text)?.[1];
  const firstArray = (node: JsonNode): JsonNode | undefined => {
    if (node.kind === 'array' && node.items.length > 0) return node;
    const members = node.kind === 'array' ? node.items : node.kind === 'object' ? node.properties.map((property) => property.value) : [];
    for (const member of members) {
      const found = firstArray(member);
      if (found) return found;
    }
    return undefined;
  };
  const array = firstArray(root);
  return {
    eol: text.includes('\r\n') ? '\r\n' : '\n',
    unit: indented === undefined ? '  ' : indented.startsWith('\t') ? '\t' : indented,
    // Without an array to go by, as Nx's own writeJson writes them.
    arrays: array ? layoutOf(text, array) : 'expanded',
  };
}

function valueOf(node: JsonNode): unknown {
  if (node.kind === 'scalar') return node.value;
  if (node.kind === 'array') return node.items.map(valueOf);
  return Object.fromEntries(node.properties.map((property) => [property.key, valueOf(property.value)]));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Equal as JSON values: the order of an object's properties does not count, undefined properties are absent. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = (object: Record<string, unknown>) => Object.keys(object).filter((key) => object[key] !== undefined);
    const [left, right] = [keys(a), keys(b)];
    return left.length === right.length && left.every((key) => Object.prototype.hasOwnProperty.call(b, key) && deepEqual(a[key], b[key]));
  }
  return a === b;
}

/** A JSON reader that keeps where every value starts and ends; comments and trailing commas are allowed, as in tsconfig files. */
class Parser {
  private index = 0;

  constructor(private readonly text: string) {}

  document(): JsonNode {
    const node = this.value();
    this.skipTrivia();
    if (this.index < this.text.length) this.fail('nothing more');
    return node;
  }

  private value(): JsonNode {
    this.skipTrivia();
    const start = this.index;
    const character = this.text[start];
    if (character === '{') return this.object();
    if (character === '[') return this.array();
    if (character === '"') {
      const end = this.stringEnd(start);
      this.index = end;
      return { kind: 'scalar', start, end, value: JSON.parse(this.text.slice(start, end)) };
    }
    const token = /^[^\s,:\]}/]+/.exec(this.text.slice(start))?.[0];
    if (!token) this.fail('a value');
    this.index = start + token.length;
    try {
      return { kind: 'scalar', start, end: this.index, value: JSON.parse(token) };
    } catch {
      return this.fail('a value');
    }
  }

  private object(): JsonNode {
    const start = this.index++;
    const properties: JsonProperty[] = [];
    while (this.member('}')) {
      const keyStart = this.index;
      if (this.text[keyStart] !== '"') this.fail('a property name');
      const keyEnd = this.stringEnd(keyStart);
      this.index = keyEnd;
      this.skipTrivia();
      if (this.text[this.index] !== ':') this.fail('":"');
      this.index++;
      properties.push({ key: JSON.parse(this.text.slice(keyStart, keyEnd)), start: keyStart, value: this.value() });
      this.separator('}');
    }
    return { kind: 'object', start, end: this.index, properties };
  }

  private array(): JsonNode {
    const start = this.index++;
    const items: JsonNode[] = [];
    while (this.member(']')) {
      items.push(this.value());
      this.separator(']');
    }
    return { kind: 'array', start, end: this.index, items };
  }

  /** Whether another member follows; consumes the closing bracket when none does. */
  private member(close: string): boolean {
    this.skipTrivia();
    if (this.text[this.index] !== close) return true;
    this.index++;
    return false;
  }

  private separator(close: string): void {
    this.skipTrivia();
    if (this.text[this.index] === ',') this.index++;
    else if (this.text[this.index] !== close) this.fail(`"," or "${close}"`);
  }

  private skipTrivia(): void {
    for (;;) {
      while (/\s/.test(this.text[this.index] ?? '')) this.index++;
      if (this.text.startsWith('//', this.index)) {
        const end = this.text.indexOf('\n', this.index);
        this.index = end === -1 ? this.text.length : end;
      } else if (this.text.startsWith('/*', this.index)) {
        const end = this.text.indexOf('*/', this.index + 2);
        this.index = end === -1 ? this.text.length : end + 2;
      } else return;
    }
  }

  /** The offset just after the string that opens at `start`. */
  private stringEnd(start: number): number {
    let end = start + 1;
    while (end < this.text.length && this.text[end] !== '"') end += this.text[end] === '\\' ? 2 : 1;
    if (end >= this.text.length) this.fail('the end of a string');
    return end + 1;
  }

  private fail(expected: string): never {
    const before = this.text.slice(0, this.index);
    const line = before.split('\n').length;
    const column = this.index - before.lastIndexOf('\n');
    throw new SyntaxError(`Expected ${expected} at line ${line}, column ${column} of the JSON text.`);
  }
}
