import { isInside, judgeScope, parseNameStatus, workspaceScope, type FileChange } from './scope';

describe('workspaceScope', () => {
  it.each<[string, string[], string[]]>([
    ['libs/orders', ['src'], ['libs/orders/src']],
    ['libs/orders', ['.', 'docs/api'], ['libs/orders', 'libs/orders/docs/api']],
    ['libs/orders/', ['src'], ['libs/orders/src']],
    // A project at the workspace root: its scope is not prefixed with "./".
    ['.', ['src'], ['src']],
    ['.', ['.'], ['.']],
    ['', ['src', '.'], ['src', '.']],
  ])('%j with scope %j is %j', (projectRoot, scope, expected) => {
    expect(workspaceScope(projectRoot, scope)).toEqual(expected);
  });
});

describe('isInside', () => {
  it.each([
    ['libs/a', 'libs/a'],
    ['libs/a/src/x.ts', 'libs/a'],
    ['libs/a/src/x.ts', 'libs/a/src'],
    ['anything/at/all', '.'],
    ['anything/at/all', ''],
  ])('%s is inside %j', (path, scope) => {
    expect(isInside(path, scope)).toBe(true);
  });

  it.each([
    ['libs/ab/x.ts', 'libs/a'],
    ['libs/ab', 'libs/a'],
    ['libs', 'libs/a'],
    ['other/libs/a/x.ts', 'libs/a'],
    ['libs/a.ts', 'libs/a'],
  ])('%s is not inside %j (prefixes count on a segment boundary only)', (path, scope) => {
    expect(isInside(path, scope)).toBe(false);
  });
});

describe('judgeScope', () => {
  const change = (path: string, status: FileChange['status'] = 'modified'): FileChange => ({ path, status });

  it('sorts changes into accepted, outside and read-only', () => {
    const changes = [
      change('libs/orders/src/lib/orders.handler.ts', 'added'),
      change('libs/orders/project.json'),
      change('libs/contracts/src/index.ts'),
      change('libs/orders/src/index.ts', 'deleted'),
      change('package.json'),
    ];
    expect(judgeScope(changes, ['libs/orders/src'], ['libs/contracts', 'libs/users'])).toEqual({
      accepted: [change('libs/orders/src/lib/orders.handler.ts', 'added'), change('libs/orders/src/index.ts', 'deleted')],
      outside: [change('libs/orders/project.json'), change('package.json')],
      readOnly: [change('libs/contracts/src/index.ts')],
      wired: [],
    });
  });

  it("takes an edit of a wired file as wired, never the file's deletion or a wired path in a read-only root", () => {
    const changes = [change('apps/shop/src/pages.tsx'), change('apps/api/src/routes.ts', 'deleted'), change('libs/contracts/src/index.ts')];
    const verdict = judgeScope(
      changes,
      ['libs/orders/src'],
      ['libs/contracts'],
      ['apps/shop/src/pages.tsx', 'apps/api/src/routes.ts', 'libs/contracts/src/index.ts'],
    );
    expect(verdict).toEqual({
      accepted: [],
      outside: [change('apps/api/src/routes.ts', 'deleted')],
      readOnly: [change('libs/contracts/src/index.ts')],
      wired: [change('apps/shop/src/pages.tsx')],
    });
  });

  it('accepts a change inside any of several scope entries', () => {
    const verdict = judgeScope([change('libs/o/src/a.ts'), change('libs/o/docs/b.md')], ['libs/o/src', 'libs/o/docs']);
    expect(verdict.accepted).toHaveLength(2);
    expect(verdict.outside).toEqual([]);
  });

  it('puts a read-only path in readOnly even when the scope includes it', () => {
    const verdict = judgeScope([change('libs/contracts/src/index.ts')], ['.'], ['libs/contracts']);
    expect(verdict).toEqual({ accepted: [], outside: [], readOnly: [change('libs/contracts/src/index.ts')], wired: [] });
  });

  it('has no read-only roots by default', () => {
    expect(judgeScope([change('libs/contracts/x.ts')], ['libs']).accepted).toEqual([change('libs/contracts/x.ts')]);
  });
});

describe('parseNameStatus', () => {
  it('parses NUL-separated status and path pairs', () => {
    expect(parseNameStatus('A\0path\0M\0p2\0D\0p3\0')).toEqual([
      { path: 'path', status: 'added' },
      { path: 'p2', status: 'modified' },
      { path: 'p3', status: 'deleted' },
    ]);
  });

  it('keeps paths with spaces and newlines whole', () => {
    expect(parseNameStatus('M\0a dir/file name.ts\0A\0odd\nname.ts\0')).toEqual([
      { path: 'a dir/file name.ts', status: 'modified' },
      { path: 'odd\nname.ts', status: 'added' },
    ]);
  });

  it('treats other status letters (type change) as modified', () => {
    expect(parseNameStatus('T\0link\0')).toEqual([{ path: 'link', status: 'modified' }]);
  });

  it('gives no changes for empty output', () => {
    expect(parseNameStatus('')).toEqual([]);
  });
});
