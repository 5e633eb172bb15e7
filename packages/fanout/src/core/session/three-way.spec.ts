import { syntaxError } from '../landing/syntax';
import { formatConflict, mergeThreeWay, resolveMarked } from './three-way';

/** An app's list of pages, as the reference's wiring has it. */
const BASE = `import { SettingsPage } from '@shop/feature-settings';

export const pages = [
  { path: '/settings', element: SettingsPage },
];
`;

/** What a session adds: its import and its entry, each after the reference's. */
function withPage(text: string, name: string): string {
  const page = `${name[0].toUpperCase()}${name.slice(1)}Page`;
  return text
    .replace(
      "import { SettingsPage } from '@shop/feature-settings';\n",
      `import { SettingsPage } from '@shop/feature-settings';\nimport { ${page} } from '@shop/feature-${name}';\n`,
    )
    .replace(
      "  { path: '/settings', element: SettingsPage },\n",
      `  { path: '/settings', element: SettingsPage },\n  { path: '/${name}', element: ${page} },\n`,
    );
}

describe('mergeThreeWay', () => {
  it("merges two sessions that each add an import and an entry after the reference's, keeping both in run order", async () => {
    const dashboard = withPage(BASE, 'dashboard');
    const profile = withPage(BASE, 'profile');

    const first = await mergeThreeWay({ base: BASE, current: BASE, session: dashboard });
    expect(first).toEqual({ merged: dashboard, conflicts: [] });
    const second = await mergeThreeWay({ base: BASE, current: first.merged, session: profile });

    expect(second.conflicts).toEqual([]);
    expect(second.merged).toBe(`import { SettingsPage } from '@shop/feature-settings';
import { DashboardPage } from '@shop/feature-dashboard';
import { ProfilePage } from '@shop/feature-profile';

export const pages = [
  { path: '/settings', element: SettingsPage },
  { path: '/dashboard', element: DashboardPage },
  { path: '/profile', element: ProfilePage },
];
`);
  });

  it('changes nothing when the file already holds the session edit: a replay, or a rerun', async () => {
    const both = withPage(withPage(BASE, 'dashboard'), 'profile');

    expect(await mergeThreeWay({ base: BASE, current: both, session: withPage(BASE, 'dashboard') })).toEqual({
      merged: both,
      conflicts: [],
    });
    expect(await mergeThreeWay({ base: BASE, current: both, session: BASE })).toEqual({ merged: both, conflicts: [] });
  });

  it("keeps the user's uncommitted edit of the file and adds the session's", async () => {
    const users = BASE.replace('export const pages', '// Every page of the shop.\nexport const pages');

    const result = await mergeThreeWay({ base: BASE, current: users, session: withPage(BASE, 'dashboard') });

    expect(result.conflicts).toEqual([]);
    expect(result.merged).toBe(withPage(users, 'dashboard'));
  });

  it('reports lines both sides changed differently as a conflict, with both sides and where, and leaves the file as it is', async () => {
    const current = BASE.replace("path: '/settings'", "path: '/preferences'");
    const session = BASE.replace("path: '/settings'", "path: '/account'");

    const result = await mergeThreeWay({ base: BASE, current, session });

    expect(result.merged).toBe(current);
    expect(result.conflicts).toEqual([
      {
        line: 4,
        current: ["  { path: '/preferences', element: SettingsPage },"],
        base: ["  { path: '/settings', element: SettingsPage },"],
        session: ["  { path: '/account', element: SettingsPage },"],
      },
    ]);
    expect(formatConflict('apps/shop/src/pages.ts', result.conflicts[0], { current: 'the workspace', session: 'dashboard' })).toBe(
      [
        'apps/shop/src/pages.ts:4: both changed these lines',
        '  the workspace:',
        "      { path: '/preferences', element: SettingsPage },",
        '  merge base:',
        "      { path: '/settings', element: SettingsPage },",
        '  dashboard:',
        "      { path: '/account', element: SettingsPage },",
      ].join('\n'),
    );
  });
});

describe('resolveMarked', () => {
  it('keeps both sides of a region where both only inserted, an import both inserted once, and counts lines of the current file', () => {
    const y = "import { y } from './y';";
    const marked = ['a', '<<<<<<< current', 'x', y, '||||||| base', '=======', y, 'z', '>>>>>>> session', 'b', ''].join('\n');
    expect(resolveMarked(marked)).toEqual({ merged: `a\nx\n${y}\nz\nb\n`, conflicts: [] });

    const conflicting = ['a', '<<<<<<< current', 'x', '||||||| base', 'old', '=======', 'z', '>>>>>>> session', 'b'].join('\n');
    expect(resolveMarked(conflicting)).toEqual({
      merged: 'a\nx\nb',
      conflicts: [{ line: 2, current: ['x'], base: ['old'], session: ['z'] }],
    });
  });
});

describe('two sessions that each insert an entry over several lines at the same place', () => {
  it('keeps both entries whole, so the file still parses', async () => {
    const route = (name: string) =>
      `  {\n    path: '${name}',\n    loadChildren: () =>\n      import('@ws/${name}').then((m) => m.${name}Routes),\n  },\n`;
    const base = `export const apiRoutes = [\n${route('users')}];\n`;
    const products = `export const apiRoutes = [\n${route('users')}${route('products')}];\n`;
    const orders = `export const apiRoutes = [\n${route('users')}${route('orders')}];\n`;
    const { merged, conflicts } = await mergeThreeWay({ base, current: products, session: orders });
    expect(conflicts).toEqual([]);
    for (const name of ['users', 'products', 'orders']) expect(merged.split(route(name))).toHaveLength(2);
    expect(syntaxError('api.routes.ts', merged)).toBeUndefined();
  });
});
