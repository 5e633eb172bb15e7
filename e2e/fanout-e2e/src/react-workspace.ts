import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { buildOnce, copyWorkspace, e2eEnv, INSTALLING, nxVersion, requireEnv, TestWorkspace } from './workspace';

/**
 * A workspace as a React team has it before fanout: `create-nx-workspace
 * --preset=react-monorepo` at our Nx version (TypeScript pinned to 5.9, as every e2e
 * workspace is), a types library `@shop/shared-types` and a page library
 * `@shop/feature-settings` (a `SettingsPage` that renders `Section`s from the types,
 * with its test), written as a person would, and the app's list of its pages
 * (\`apps/shop/src/app/pages.tsx\`, the settings page in it), green and committed. fanout is added, and
 * nothing else of it: adopting the libraries is what the tests do.
 */

export const TYPES = '@shop/shared-types';
export const SETTINGS = '@shop/feature-settings';

const TYPES_SOURCE = `/** One block of a page: a heading and its rows. */
export interface Section {
  id: string;
  title: string;
  rows: SectionRow[];
}

export interface SectionRow {
  label: string;
  value: string;
}
`;

const TYPES_SPEC = `import type { Section } from './shared-types.js';

describe('Section', () => {
  it('holds rows', () => {
    const section: Section = { id: 'a', title: 'A', rows: [{ label: 'x', value: 'y' }] };
    expect(section.rows).toHaveLength(1);
  });
});
`;

const SETTINGS_PAGE = `import type { Section } from '@shop/shared-types';
import styles from './feature-settings.module.css';

export const settingsSections: Section[] = [
  { id: 'account', title: 'Account', rows: [{ label: 'Email', value: 'me@example.com' }] },
];

export function SettingsPage({ sections = settingsSections }: { sections?: Section[] }) {
  return (
    <main className={styles['page']} aria-label="settings">
      <h1>Settings</h1>
      {sections.map((section) => (
        <section key={section.id}>
          <h2>{section.title}</h2>
          {section.rows.map((row) => (
            <p key={row.label}>
              {row.label}: {row.value}
            </p>
          ))}
        </section>
      ))}
    </main>
  );
}

export default SettingsPage;
`;

/** The app's list of its pages, one entry per line: what every new page is registered in. */
export const APP_PAGES = 'apps/shop/src/app/pages.tsx';
export const APP_PAGES_SOURCE = `import { SettingsPage } from '@shop/feature-settings';

/** Every page of the shop, with its path. */
export const pages = [
  { path: '/settings', title: 'Settings', element: <SettingsPage /> },
];
`;

export const SETTINGS_SPEC = `import { render } from '@testing-library/react';
import SettingsPage, { settingsSections } from './feature-settings';

describe('SettingsPage', () => {
  it('renders every section', () => {
    const { getByRole, getAllByRole } = render(<SettingsPage />);
    expect(getByRole('main', { name: 'settings' })).toBeTruthy();
    expect(getAllByRole('heading', { level: 2 })).toHaveLength(settingsSections.length);
  });
});
`;

async function createReactWorkspace(root: string): Promise<void> {
  const env = e2eEnv();
  await new TestWorkspace(dirname(root), env).run(
    'npx',
    [
      '-y',
      `create-nx-workspace@${nxVersion}`,
      'shop',
      '--preset=react-monorepo',
      '--appName=shop',
      '--bundler=vite',
      '--e2eTestRunner=none',
      '--style=css',
      '--unitTestRunner=jest',
      '--linter=eslint',
      '--nxCloud=skip',
      '--interactive=false',
      '--packageManager=npm',
    ],
    2 * INSTALLING,
  );
  const workspace = new TestWorkspace(root);
  await workspace.run('npm', ['install', '-D', 'typescript@~5.9.3'], INSTALLING);
  await workspace.nx(
    ['g', '@nx/js:library', 'libs/shared-types', '--bundler=none', '--unitTestRunner=jest', '--linter=eslint'],
    INSTALLING,
  );
  await workspace.nx(
    ['g', '@nx/react:library', 'libs/feature-settings', '--bundler=none', '--unitTestRunner=jest', '--linter=eslint', '--style=css'],
    INSTALLING,
  );
  workspace.writeFile('libs/shared-types/src/lib/shared-types.ts', TYPES_SOURCE);
  workspace.writeFile('libs/shared-types/src/lib/shared-types.spec.ts', TYPES_SPEC);
  workspace.writeFile('libs/feature-settings/src/lib/feature-settings.tsx', SETTINGS_PAGE);
  workspace.writeFile('libs/feature-settings/src/lib/feature-settings.spec.tsx', SETTINGS_SPEC);
  const manifest = workspace.readJson<Record<string, unknown>>('libs/feature-settings/package.json');
  workspace.writeFile(
    'libs/feature-settings/package.json',
    `${JSON.stringify({ ...manifest, dependencies: { [TYPES]: '*' } }, null, 2)}\n`,
  );
  // The app lists its pages, the settings page among them: it depends on the page library.
  workspace.writeFile(APP_PAGES, APP_PAGES_SOURCE);
  const app = workspace.readJson<{ dependencies?: Record<string, string> }>('apps/shop/package.json');
  workspace.writeFile(
    'apps/shop/package.json',
    `${JSON.stringify({ ...app, dependencies: { ...app.dependencies, [SETTINGS]: '*' } }, null, 2)}\n`,
  );
  // What a person does after adding a workspace dependency in a TS-solution workspace.
  await workspace.run('npm', ['install'], INSTALLING);
  await workspace.nx(['sync'], INSTALLING);
  await workspace.nx(['add', `fanout@${requireEnv('FANOUT_E2E_VERSION')}`], INSTALLING);
  await workspace.commitEverything('shop: shared types, the settings page, fanout');
}

/** A fresh copy of the React workspace, made on first use and shared by the suites after it. */
export async function reactWorkspace(suite: string): Promise<TestWorkspace> {
  const ready = `${requireEnv('FANOUT_E2E_BARE')}-react`;
  await buildOnce(ready, async () => {
    rmSync(ready, { recursive: true, force: true });
    const parent = mkdtempSync(join(tmpdir(), 'fanout-e2e-react-'));
    await createReactWorkspace(join(parent, 'shop'));
    await copyWorkspace(join(parent, 'shop'), ready);
    rmSync(parent, { recursive: true, force: true });
  });
  const root = join(mkdtempSync(join(tmpdir(), `fanout-e2e-${suite}-`)), 'ws');
  await copyWorkspace(ready, root);
  return new TestWorkspace(root);
}
