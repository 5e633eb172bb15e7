import { editJson } from './json-edit';
import { parseJsonc } from './jsonc';

/** The text edited as `change` edits its parsed value, of the shape `T`. */
function edit<T>(text: string, change: (json: T) => unknown): string {
  const json = parseJsonc(text) as T;
  change(json);
  return editJson(text, json);
}

describe('editJson', () => {
  it('leaves the text as it is when the value is unchanged, comments and trailing commas included', () => {
    const text = '{\n  // the libraries\n  "references": [{ "path": "./a" },],\n  "files": []\n}\n';
    expect(edit(text, () => undefined)).toBe(text);
  });

  it('appends to an array one item a line as one more line', () => {
    const text = '{\n  "tags": [\n    "scope:shop",\n    "type:feature"\n  ],\n  "files": ["a.ts", "b.ts"]\n}\n';
    expect(edit<{ tags: string[] }>(text, (json) => json.tags.push('fanout:task'))).toBe(
      '{\n  "tags": [\n    "scope:shop",\n    "type:feature",\n    "fanout:task"\n  ],\n  "files": ["a.ts", "b.ts"]\n}\n',
    );
  });

  it('appends to an array on one line on that line', () => {
    const text = '{\n  "tags": ["scope:shop"],\n  "files": [\n    "a.ts"\n  ]\n}\n';
    expect(edit<{ tags: string[] }>(text, (json) => json.tags.push('fanout:task'))).toBe(
      '{\n  "tags": ["scope:shop", "fanout:task"],\n  "files": [\n    "a.ts"\n  ]\n}\n',
    );
  });

  it('writes an appended object as the items before it are written', () => {
    const inline = '{\n  "references": [\n    { "path": "./libs/a" },\n    { "path": "./libs/b" }\n  ]\n}\n';
    expect(edit<{ references: { path: string }[] }>(inline, (json) => json.references.push({ path: './libs/c' }))).toBe(
      '{\n  "references": [\n    { "path": "./libs/a" },\n    { "path": "./libs/b" },\n    { "path": "./libs/c" }\n  ]\n}\n',
    );
    const expanded = '{\n  "references": [\n    {\n      "path": "./libs/a"\n    }\n  ]\n}\n';
    expect(edit<{ references: { path: string }[] }>(expanded, (json) => json.references.push({ path: './libs/c' }))).toBe(
      '{\n  "references": [\n    {\n      "path": "./libs/a"\n    },\n    {\n      "path": "./libs/c"\n    }\n  ]\n}\n',
    );
  });

  it('adds a property after the last one, its value written as its neighbours are', () => {
    const inline = '{\n  "compilerOptions": {\n    "paths": {\n      "@org/a": ["libs/a/src/index.ts"]\n    }\n  }\n}\n';
    expect(
      edit<{ compilerOptions: { paths: Record<string, string[]> } }>(
        inline,
        (json) => (json.compilerOptions.paths['@org/b'] = ['libs/b/src/index.ts']),
      ),
    ).toBe(
      '{\n  "compilerOptions": {\n    "paths": {\n      "@org/a": ["libs/a/src/index.ts"],\n      "@org/b": ["libs/b/src/index.ts"]\n    }\n  }\n}\n',
    );
    const expanded = '{\n  "paths": {\n    "@org/a": [\n      "libs/a/src/index.ts"\n    ]\n  }\n}\n';
    expect(edit<{ paths: Record<string, string[]> }>(expanded, (json) => (json.paths['@org/b'] = ['libs/b/src/index.ts']))).toBe(
      '{\n  "paths": {\n    "@org/a": [\n      "libs/a/src/index.ts"\n    ],\n    "@org/b": [\n      "libs/b/src/index.ts"\n    ]\n  }\n}\n',
    );
  });

  it('rewrites a changed array in its own layout', () => {
    const multiLine = '{\n  "name": "a",\n  "tags": [\n    "scope:shop",\n    "fanout:reference"\n  ]\n}\n';
    expect(edit<{ tags: string[] }>(multiLine, (json) => (json.tags = ['scope:shop', 'fanout:task']))).toBe(
      '{\n  "name": "a",\n  "tags": [\n    "scope:shop",\n    "fanout:task"\n  ]\n}\n',
    );
    const oneLine = '{\n  "name": "a",\n  "tags": ["scope:shop", "fanout:reference", "fanout:subject:a"]\n}\n';
    expect(edit<{ tags: string[] }>(oneLine, (json) => (json.tags = ['scope:shop', 'fanout:task']))).toBe(
      '{\n  "name": "a",\n  "tags": ["scope:shop", "fanout:task"]\n}\n',
    );
  });

  it('fills an empty array or object as the file writes the others', () => {
    expect(edit<{ tags: string[] }>('{\n  "include": ["src"],\n  "tags": []\n}\n', (json) => (json.tags = ['a', 'b']))).toBe(
      '{\n  "include": ["src"],\n  "tags": ["a", "b"]\n}\n',
    );
    expect(edit<{ tags: string[] }>('{\n  "include": [\n    "src"\n  ],\n  "tags": []\n}\n', (json) => (json.tags = ['a']))).toBe(
      '{\n  "include": [\n    "src"\n  ],\n  "tags": [\n    "a"\n  ]\n}\n',
    );
    expect(edit<{ nx: { tags?: string[] } }>('{\n  "name": "a",\n  "nx": {}\n}\n', (json) => (json.nx.tags = ['a']))).toBe(
      '{\n  "name": "a",\n  "nx": {\n    "tags": [\n      "a"\n    ]\n  }\n}\n',
    );
  });

  it('adds a new object property by property, in the indentation the file uses (tabs here)', () => {
    expect(edit<{ nx?: object }>('{\n\t"name": "a",\n\t"files": ["x"]\n}\n', (json) => (json.nx = { name: 'b', tags: ['t'] }))).toBe(
      '{\n\t"name": "a",\n\t"files": ["x"],\n\t"nx": {\n\t\t"name": "b",\n\t\t"tags": ["t"]\n\t}\n}\n',
    );
  });

  it('replaces a scalar where it stands', () => {
    const text = '{ "name": "@org/a", "version": "0.0.1" } // kept\n';
    expect(edit<{ name: string }>(text, (json) => (json.name = '@org/b'))).toBe('{ "name": "@org/b", "version": "0.0.1" } // kept\n');
  });

  it('removes properties with their commas, wherever they stand', () => {
    const text = '{\n  "a": 1,\n  "b": 2,\n  "c": 3\n}\n';
    expect(edit<Partial<Record<string, number>>>(text, (json) => delete json.a)).toBe('{\n  "b": 2,\n  "c": 3\n}\n');
    expect(edit<Partial<Record<string, number>>>(text, (json) => delete json.b)).toBe('{\n  "a": 1,\n  "c": 3\n}\n');
    expect(edit<Partial<Record<string, number>>>(text, (json) => (delete json.b, delete json.c))).toBe('{\n  "a": 1\n}\n');
    expect(edit<Partial<Record<string, number>>>(text, (json) => (delete json.a, delete json.b))).toBe('{\n  "c": 3\n}\n');
    expect(edit<Partial<Record<string, number>>>(text, (json) => (delete json.c, (json.d = 4)))).toBe(
      '{\n  "a": 1,\n  "b": 2,\n  "d": 4\n}\n',
    );
    expect(edit<{ a: { x?: number } }>('{ "a": { "x": 1 } }', (json) => delete json.a.x)).toBe('{ "a": {} }');
  });

  it('keeps comments, trailing commas and Windows line ends around what it changes', () => {
    const text = '{\r\n  // the projects\r\n  "references": [\r\n    { "path": "./a" }, // first\r\n  ],\r\n}\r\n';
    expect(edit<{ references: { path: string }[] }>(text, (json) => json.references.push({ path: './b' }))).toBe(
      '{\r\n  // the projects\r\n  "references": [\r\n    { "path": "./a" }, // first\r\n    { "path": "./b" },\r\n  ],\r\n}\r\n',
    );
    expect(edit<{ tags: string[] }>('{\n  "tags": [\n    "a" /* the first */\n  ]\n}', (json) => json.tags.push('b'))).toBe(
      '{\n  "tags": [\n    "a", /* the first */\n    "b"\n  ]\n}',
    );
  });

  it('edits inside an array item in place', () => {
    const text = '{\n  "plugins": [\n    "@nx/js",\n    { "plugin": "fanout", "options": {} }\n  ]\n}\n';
    expect(
      edit<{ plugins: [string, { options: { targetName?: string } }] }>(text, (json) => (json.plugins[1].options.targetName = 'fan')),
    ).toBe('{\n  "plugins": [\n    "@nx/js",\n    { "plugin": "fanout", "options": { "targetName": "fan" } }\n  ]\n}\n');
  });

  it('says where the text is not JSON', () => {
    expect(() => editJson('{\n  "a": 1\n  "b": 2\n}', { a: 1 })).toThrow('Expected "," or "}" at line 3, column 3 of the JSON text.');
  });
});
