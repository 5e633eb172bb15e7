import {
  AssignmentError,
  FRONT_MATTER_SCHEMA,
  parseAssignment,
  parseDuration,
  renderAssignment,
  resolveTaskProjects,
  resolveWiredFiles,
  type AssignmentFields,
} from './assignment';
import { DEFAULT_TIMEOUT_MS } from '../../constants';

const FILE = 'libs/orders/fanout.md';

const source = (frontMatter: string, body = 'Build the orders API.') => `---\n${frontMatter}\n---\n\n${body}\n`;

describe('parseAssignment', () => {
  it('parses a fanout.md, with the defaults for what it leaves out', () => {
    expect(parseAssignment(source('like: users\ncontracts: contracts'), FILE)).toEqual({
      like: 'users',
      contracts: 'contracts',
      agent: 'pattern',
      command: undefined,
      entity: undefined,
      subject: undefined,
      scope: ['src'],
      timeoutMs: 30 * 60 * 1000,
      text: 'Build the orders API.',
    });
    expect(DEFAULT_TIMEOUT_MS).toBe(30 * 60 * 1000);
  });

  it('reads every setting', () => {
    const assignment = parseAssignment(
      source(
        [
          'like: users',
          'contracts: shared-contracts',
          'agent: command',
          'command: node agent.js {promptFile}',
          'entity: order',
          'subject: order-history',
          'scope: [src, docs/api]',
          'timeout: 90s',
        ].join('\n'),
        'Line one.\n\nLine two.',
      ),
      FILE,
    );
    expect(assignment).toEqual({
      like: 'users',
      contracts: 'shared-contracts',
      agent: 'command',
      command: 'node agent.js {promptFile}',
      entity: 'order',
      subject: 'order-history',
      scope: ['src', 'docs/api'],
      timeoutMs: 90_000,
      text: 'Line one.\n\nLine two.',
    });
  });

  it('accepts a single scope path, a byte order mark and CRLF line ends', () => {
    const assignment = parseAssignment('\uFEFF---\r\nlike: users\r\ncontracts: contracts\r\nscope: lib/\r\n---\r\nDo it.\r\n', FILE);
    expect(assignment.scope).toEqual(['lib']);
    expect(assignment.text).toBe('Do it.');
  });

  it.each([
    ['.', ['.']],
    ['./src/', ['src']],
    ['src//lib', ['src/lib']],
  ])('normalises the scope %j', (scope, expected) => {
    expect(parseAssignment(source(`like: users\ncontracts: contracts\nscope: "${scope}"`), FILE).scope).toEqual(expected);
  });

  describe('errors name the file first', () => {
    it.each([
      ['no front matter', 'Build the orders API.\n', 'has no YAML front matter'],
      ['an unclosed front matter', '---\nlike: users\ncontracts: contracts\nBuild it.\n', 'has no YAML front matter'],
      ['invalid YAML', source('like: [users\ncontracts: contracts'), 'its front matter is not valid YAML'],
      ['a front matter that is a list', source('- like\n- contracts'), 'its front matter must be a mapping'],
      ['a front matter that is a string', source('just text'), 'its front matter must be a mapping'],
      ['an unknown key', source('like: users\ncontracts: contracts\nprompt: hi\nmodel: x'), 'unknown front matter key(s): prompt, model.'],
      ['a number for like', source('like: 3\ncontracts: contracts'), '"like" must be a non-empty string (got 3)'],
      ['an empty contracts', source('like: users\ncontracts: "  "'), '"contracts" must be a non-empty string'],
      ['a list for agent', source('like: users\ncontracts: contracts\nagent: [a]'), '"agent" must be a non-empty string'],
      ['a missing like', source('contracts: contracts'), '"like" is required in the front matter:'],
      ['a missing contracts', source('like: users'), '"contracts" is required in the front matter:'],
      ['an empty front matter', source(''), '"like" is required'],
      [
        'an empty assignment text',
        source('like: users\ncontracts: contracts', '  \n\n '),
        'the assignment text (below the front matter) is empty',
      ],
      ['a scope leaving the project', source('like: users\ncontracts: contracts\nscope: ../x'), '"scope" entry "../x" leaves the project'],
      ['an absolute scope', source('like: users\ncontracts: contracts\nscope: /abs'), '"scope" entry "/abs" is absolute'],
      ['a drive-letter scope', source('like: users\ncontracts: contracts\nscope: "C:/x"'), 'is absolute'],
      [
        'a scope leaving through a folder',
        source('like: users\ncontracts: contracts\nscope: [src, a/../../b]'),
        '"scope" entry "a/../../b" leaves the project',
      ],
      ['an empty scope entry', source('like: users\ncontracts: contracts\nscope: [src, ""]'), '"scope" has an empty entry'],
      ['an empty scope list', source('like: users\ncontracts: contracts\nscope: []'), '"scope" must be a path or a non-empty list'],
      ['a scope of numbers', source('like: users\ncontracts: contracts\nscope: [1]'), '"scope" must be a path or a non-empty list'],
      [
        'a timeout word',
        source('like: users\ncontracts: contracts\ntimeout: soon'),
        '"timeout" must be a positive number of seconds or a duration such as "90s", "30m" or "1h" (got "soon")',
      ],
      ['a negative timeout', source('like: users\ncontracts: contracts\ntimeout: -1'), '(got -1)'],
      ['a zero timeout', source('like: users\ncontracts: contracts\ntimeout: 0'), '(got 0)'],
      ['an empty timeout', source('like: users\ncontracts: contracts\ntimeout:'), '"timeout" must be a positive number'],
      ['a boolean timeout', source('like: users\ncontracts: contracts\ntimeout: true'), '(got true)'],
      ['a list for timeout', source('like: users\ncontracts: contracts\ntimeout: [1]'), '"timeout" must be a positive number'],
      [
        'a mapping for like',
        source('like: { name: users }\ncontracts: contracts'),
        '"like" must be a non-empty string (got {"name":"users"})',
      ],
      ['a number for command', source('like: users\ncontracts: contracts\ncommand: 42'), '"command" must be a non-empty string (got 42)'],
      [
        'a command template with no program',
        source('like: users\ncontracts: contracts\ncommand: "\'\' {promptFile}"'),
        '"command" names no program',
      ],
      [
        'a command template with an open quote',
        source('like: users\ncontracts: contracts\ncommand: node "agent.js'),
        '"command" has an unterminated " quote',
      ],
      [
        'an entity that is a path',
        source('like: users\ncontracts: contracts\nentity: ../../etc'),
        '"entity" "../../etc" is not a plain name',
      ],
      ['an entity with a separator', source('like: users\ncontracts: contracts\nentity: a/b'), '"entity" "a/b" is not a plain name'],
      [
        'a misspelt key',
        source('like: users\ncontracts: contracts\ntimout: 30m\nScope: src'),
        'unknown front matter key(s): timout (did you mean "timeout"?), Scope (did you mean "scope"?)',
      ],
      [
        'a duplicated key',
        source('like: users\nlike: orders\ncontracts: contracts'),
        'its front matter is not valid YAML: Map keys must be unique',
      ],
    ])('%s', (_, text, problem) => {
      let error: unknown;
      try {
        parseAssignment(text, FILE);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(AssignmentError);
      expect((error as Error).message).toMatch(new RegExp(`^${FILE}(:\\d+)?: `));
      expect((error as Error).message).toContain(problem);
    });
  });

  describe('the gate and the repair rounds', () => {
    const parse = (lines: string) => parseAssignment(source(`like: users\ncontracts: contracts\n${lines}`), FILE);

    it('reads gate as a list of targets, one name, or [] for none; repairs as a count; both absent when unset', () => {
      expect(parse('gate: [typecheck, test]\nrepairs: 1')).toMatchObject({ gate: ['typecheck', 'test'], repairs: 1 });
      expect(parse('gate: lint').gate).toEqual(['lint']);
      expect(parse('gate: []\nrepairs: 0')).toMatchObject({ gate: [], repairs: 0 });
      expect(parse('gate: [test, test, "e2e-ci"]').gate).toEqual(['test', 'e2e-ci']);
      const unset = parse('');
      expect(unset).not.toHaveProperty('gate');
      expect(unset).not.toHaveProperty('repairs');
    });

    it.each([
      ['gate: [typecheck, 3]', '"gate" must be a list of target names'],
      ['gate: ["rm -rf /"]', '"gate" holds what is not a target name: "rm -rf /"'],
      ['repairs: 2.5', '"repairs" must be a whole number from 0 to 10'],
      ['repairs: 11', '"repairs" must be a whole number from 0 to 10'],
      ['repairs: many', '"repairs" must be a whole number from 0 to 10'],
    ])('refuses %s', (lines, problem) => {
      expect(() => parse(lines)).toThrow(problem);
    });

    it('writes them back in renderAssignment', () => {
      const text = renderAssignment({ like: 'users', contracts: 'contracts', gate: ['typecheck'], repairs: 1, text: 'Do it.' });
      expect(parseAssignment(text, FILE)).toMatchObject({ gate: ['typecheck'], repairs: 1 });
    });
  });

  describe('wired files', () => {
    const parse = (lines: string) => parseAssignment(source(`like: users\ncontracts: contracts\n${lines}`), FILE);

    it('reads wire as a file or a list of workspace-relative files, normalised and once each; absent when unset or empty', () => {
      expect(parse('wire: apps/shop/src/pages.tsx').wire).toEqual(['apps/shop/src/pages.tsx']);
      expect(parse('wire: [./apps/shop/src/pages.tsx, apps//api/src/routes.ts, apps/shop/src/pages.tsx]').wire).toEqual([
        'apps/shop/src/pages.tsx',
        'apps/api/src/routes.ts',
      ]);
      expect(parse('')).not.toHaveProperty('wire');
      expect(parse('wire: []')).not.toHaveProperty('wire');
    });

    it.each([
      ['wire: /etc/hosts', '"wire" entry "/etc/hosts" is absolute'],
      ['wire: [../outside.ts]', '"wire" entry "../outside.ts" is not a file inside the workspace'],
      ['wire: [apps/shop/]', '"wire" entry "apps/shop/" is not a file path'],
      ['wire: [.fanout/sessions/x/result.json]', 'is inside .fanout/, which no session may edit'],
      ['wire: [1]', '"wire" must be a file or a list of files'],
    ])('refuses %s', (lines, problem) => {
      expect(() => parse(lines)).toThrow(problem);
    });

    it('writes them back in renderAssignment', () => {
      const text = renderAssignment({ like: 'users', contracts: 'contracts', wire: ['apps/shop/src/pages.tsx'], text: 'Do it.' });
      expect(parseAssignment(text, FILE).wire).toEqual(['apps/shop/src/pages.tsx']);
    });
  });

  describe('sandbox', () => {
    const md = (line: string) => `---\nlike: users\ncontracts: contracts\n${line}\n---\n\nBuild it.\n`;

    it('takes a mode, or a mode with what the policy adds', () => {
      expect(parseAssignment(md('sandbox: on'), 'fanout.md').sandbox).toEqual({ mode: 'on' });
      expect(
        parseAssignment(md('sandbox: { mode: auto, allowedDomains: [registry.npmjs.org], env: [MY_*] }'), 'fanout.md').sandbox,
      ).toEqual({
        mode: 'auto',
        allowedDomains: ['registry.npmjs.org'],
        env: ['MY_*'],
      });
      expect(parseAssignment(md('agent: pattern'), 'fanout.md').sandbox).toBeUndefined();
    });

    it('refuses a mode it does not know and a key it does not know, at their line', () => {
      expect(() => parseAssignment(md('sandbox: always'), 'libs/orders/fanout.md')).toThrow(
        'libs/orders/fanout.md:4: "sandbox" is one of auto, on, off (got "always").',
      );
      expect(() => parseAssignment(md('sandbox: { allowDomains: [a.com] }'), 'libs/orders/fanout.md')).toThrow(
        'libs/orders/fanout.md:4: "sandbox" has unknown key(s) allowDomains. Known: mode, denyRead, allowedDomains, env.',
      );
    });
  });

  describe('validation against the front matter schema', () => {
    it('knows exactly the keys of the schema', () => {
      expect(Object.keys(FRONT_MATTER_SCHEMA)).toEqual([
        'like',
        'contracts',
        'agent',
        'command',
        'entity',
        'subject',
        'scope',
        'timeout',
        'gate',
        'repairs',
        'wire',
        'sandbox',
      ]);
    });

    it('points at the line of the key that is wrong (the file line, below the opening ---)', () => {
      const text = source('like: users\ncontracts: contracts\n# a comment\nscope: ../x');
      expect(() => parseAssignment(text, FILE)).toThrow(`${FILE}:5: "scope" entry "../x" leaves the project`);
    });

    it('points at the line of invalid YAML', () => {
      expect(() => parseAssignment(source('like: users\ncontracts: [a'), FILE)).toThrow(
        new RegExp(`^${FILE}:3: its front matter is not valid YAML`),
      );
    });

    it('reports every problem at once, each at its line', () => {
      const text = source('like: 3\nmodel: opus\ntimeout: soon', '');
      let error: AssignmentError | undefined;
      try {
        parseAssignment(text, FILE);
      } catch (caught) {
        error = caught as AssignmentError;
      }
      expect(error?.problems).toEqual([
        {
          line: 3,
          message:
            'unknown front matter key(s): model. Known keys: like, contracts, agent, command, entity, subject, scope, timeout, gate, repairs, wire, sandbox.',
        },
        { line: 2, message: '"like" must be a non-empty string (got 3): the reference project the task follows.' },
        { message: '"contracts" is required in the front matter: the contracts library the task uses.' },
        { line: 4, message: '"timeout" must be a positive number of seconds or a duration such as "90s", "30m" or "1h" (got "soon").' },
        { message: 'the assignment text (below the front matter) is empty: say what the session should build.' },
      ]);
      expect(error?.message.split('\n')).toEqual([
        `${FILE}: 5 problems in the front matter:`,
        `  ${FILE}:3: unknown front matter key(s): model. Known keys: like, contracts, agent, command, entity, subject, scope, timeout, gate, repairs, wire, sandbox.`,
        `  ${FILE}:2: "like" must be a non-empty string (got 3): the reference project the task follows.`,
        `  ${FILE}: "contracts" is required in the front matter: the contracts library the task uses.`,
        `  ${FILE}:4: "timeout" must be a positive number of seconds or a duration such as "90s", "30m" or "1h" (got "soon").`,
        `  ${FILE}: the assignment text (below the front matter) is empty: say what the session should build.`,
      ]);
    });

    it('treats assignment text full of shell syntax as plain text', () => {
      const text = 'Build it. $(touch CANARY) `rm -rf ~` ; | && "quoted" \'single\'\n---\nnot front matter';
      expect(parseAssignment(source('like: users\ncontracts: contracts', text), FILE).text).toBe(text);
    });
  });
});

describe('resolveTaskProjects', () => {
  const projects = new Map([
    ['users', 'libs/users'],
    ['contracts', 'libs/contracts'],
    ['orders', 'libs/orders'],
    ['products', 'libs/products'],
  ]);
  const task = { project: 'orders', file: FILE };
  const resolve = (like: string, contracts: string, runTasks: string[] = ['orders']) =>
    resolveTaskProjects({ like, contracts }, task, projects, new Set(runTasks));

  it('gives the roots of the reference and the contracts', () => {
    expect(resolve('users', 'contracts', ['orders', 'products'])).toEqual({
      reference: { project: 'users', root: 'libs/users' },
      contracts: { project: 'contracts', root: 'libs/contracts' },
    });
  });

  it.each([
    ['a like that is no project', 'people', 'contracts', [], 'like: "people" is not a project in this workspace'],
    ['a contracts that is no project', 'users', 'shared', [], 'contracts: "shared" is not a project in this workspace'],
    ['a task that follows itself', 'orders', 'contracts', [], 'like: "orders" is this task itself'],
    ['a task that is its own contracts', 'users', 'orders', [], 'contracts: "orders" is this task itself'],
    ['a like that is a task of the same run', 'products', 'contracts', ['products'], 'like: "products" is itself a task of this run'],
    ['contracts that are a task of the same run', 'users', 'products', ['products'], 'contracts: "products" is itself a task of this run'],
  ])('rejects %s, naming the file', (_, like, contracts, others, message) => {
    expect(() => resolve(like, contracts, ['orders', ...others])).toThrow(`${FILE}: ${message}`);
  });

  it('reports both projects when both are wrong', () => {
    expect(() => resolve('people', 'shared')).toThrow(`${FILE}: 2 problems in the front matter:`);
  });
});

describe('resolveWiredFiles', () => {
  const projects = new Map([
    ['root', '.'],
    ['shop', 'apps/shop'],
    ['orders', 'libs/orders'],
    ['products', 'libs/products'],
  ]);
  const files = new Set([
    'apps/shop/src/pages.tsx',
    'libs/orders/src/index.ts',
    'libs/orders/project.json',
    'libs/products/src/index.ts',
    'tools/routes.ts',
  ]);
  const task = { project: 'orders', file: FILE, root: 'libs/orders', scope: ['src'] };
  const resolve = (wire: string[], runTasks = ['orders', 'products'], allProjects = projects) =>
    resolveWiredFiles(wire, task, allProjects, new Set(runTasks), (path) => files.has(path));

  it('gives each wired file with the project that owns it, the innermost one', () => {
    expect(resolve(['apps/shop/src/pages.tsx', 'tools/routes.ts'])).toEqual([
      { path: 'apps/shop/src/pages.tsx', project: 'shop' },
      { path: 'tools/routes.ts', project: 'root' },
    ]);
  });

  it.each([
    ['a file that does not exist', ['apps/shop/src/missing.tsx'], 'wire: "apps/shop/src/missing.tsx" is not a file of this workspace'],
    ['a file inside the scope', ['libs/orders/src/index.ts'], 'wire: "libs/orders/src/index.ts" is inside the task\'s own scope'],
    [
      'a file of the task outside its scope',
      ['libs/orders/project.json'],
      'wire: "libs/orders/project.json" is a file of this task\'s own project; widen "scope"',
    ],
    [
      'a file of another task of the run',
      ['libs/products/src/index.ts'],
      'wire: "libs/products/src/index.ts" belongs to "products", itself a task of this run',
    ],
  ])('rejects %s, naming the file', (_, wire, message) => {
    expect(() => resolve(wire)).toThrow(`${FILE}: ${message}`);
  });

  it('rejects a file no project owns', () => {
    const withoutRoot = new Map([...projects].filter(([name]) => name !== 'root'));
    expect(() => resolve(['tools/routes.ts'], ['orders'], withoutRoot)).toThrow('wire: "tools/routes.ts" belongs to no project');
  });
});

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['1.5m', 90_000],
    [' 90 ', 90_000],
    [45, 45_000],
    [0.5, 500],
  ])('reads %j as %d ms', (value, ms) => {
    expect(parseDuration(value, FILE)).toBe(ms);
  });

  it.each(['soon', '', '0', '0s', '-1', '1d', '1 h 2 m', -1, 0, Number.NaN, Number.POSITIVE_INFINITY, null, true])(
    'rejects %j, naming the file',
    (value) => {
      expect(() => parseDuration(value, FILE)).toThrow(`${FILE}: "timeout" must be a positive number of seconds`);
    },
  );
});

describe('renderAssignment', () => {
  it('writes only the settings that were given', () => {
    const text = renderAssignment({ like: 'users', contracts: 'contracts', text: '  Build it.  ' });
    expect(text).toBe('---\nlike: users\ncontracts: contracts\nagent: pattern\n---\n\nBuild it.\n');
  });

  it.each<[string, AssignmentFields]>([
    ['the defaults', { like: 'users', contracts: 'contracts', text: 'Build the orders API.' }],
    [
      'every setting, with a quoted command and a scope list',
      {
        like: 'users',
        contracts: 'shared',
        agent: 'command',
        command: `node "my agent.js" --prompt '{promptFile}' --note "it's: #1" \\ x`,
        entity: 'order',
        scope: ['src', 'docs/api'],
        timeout: '90s',
        text: 'First line: with a colon.\n\n---\n\nA line that looks like front matter.',
      },
    ],
    ['a timeout in plain seconds', { like: 'users', contracts: 'contracts', timeout: '45', text: 'x' }],
  ])('round-trips %s through parseAssignment', (_, fields) => {
    const parsed = parseAssignment(renderAssignment(fields), FILE);
    expect(parsed).toEqual({
      like: fields.like,
      contracts: fields.contracts,
      agent: fields.agent ?? 'pattern',
      command: fields.command,
      entity: fields.entity,
      scope: fields.scope ?? ['src'],
      timeoutMs: fields.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(fields.timeout, FILE),
      text: fields.text,
    });
  });
});
