import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { listFiles } from '../system/files';
import { write } from '../../testing/git-workspace';
import type { AgentSession } from './agent';
import { patternAgent } from './pattern';

describe('the pattern agent', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-pattern-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const session = (overrides: Partial<AgentSession>): AgentSession => ({
    project: 'feature-dashboard',
    projectRoot: 'libs/feature-dashboard',
    workspaceRoot: root,
    worktree: root,
    promptFile: join(root, 'prompt.md'),
    logFile: join(root, 'session.log'),
    subjects: { reference: 'settings', task: 'dashboard' },
    reference: { project: 'feature-settings', root: 'libs/feature-settings' },
    contracts: { project: 'shared-types', root: 'libs/shared-types', importPath: '@shop/shared-types' },
    options: {},
    timeoutMs: 60_000,
    env: {},
    echo: false,
    redact: (text) => text,
    ...overrides,
  });

  it('builds a page from a page: names, routes, styles and its test', async () => {
    write(root, 'libs/shared-types/src/index.ts', 'export interface Section { id: string; title: string }\n');
    write(root, 'libs/feature-settings/src/index.ts', "export * from './lib/feature-settings';\n");
    write(
      root,
      'libs/feature-settings/src/lib/feature-settings.tsx',
      [
        "import type { Section } from '@shop/shared-types';",
        "import styles from './feature-settings.module.css';",
        '',
        "export const settingsSections: Section[] = [{ id: 'general', title: \"Settings you'll need\" }];",
        '',
        'export function SettingsPage() {',
        '  return (',
        '    <main className={styles.page}>',
        "      <a href={'/settings'}>Settings</a>",
        '      {settingsSections.map((section) => <h2 key={section.id}>{section.title}</h2>)}',
        '    </main>',
        '  );',
        '}',
        '',
      ].join('\n'),
    );
    write(root, 'libs/feature-settings/src/lib/feature-settings.module.css', '.page { display: grid; }\n');
    write(
      root,
      'libs/feature-settings/src/lib/feature-settings.spec.tsx',
      "import { render } from '@testing-library/react';\nimport { SettingsPage } from './feature-settings';\n\nit('renders', () => {\n  expect(render(<SettingsPage />).baseElement).toBeTruthy();\n});\n",
    );

    const report = await patternAgent.run(session({}));
    expect(report).toMatchObject({ ok: true, summary: expect.stringContaining('settings → dashboard') });
    const out = join(root, 'libs/feature-dashboard/src');
    expect(listFiles(out).map((file) => file.slice(out.length + 1))).toEqual([
      'index.ts',
      'lib/feature-dashboard.module.css',
      'lib/feature-dashboard.spec.tsx',
      'lib/feature-dashboard.tsx',
    ]);
    const page = readFileSync(join(out, 'lib/feature-dashboard.tsx'), 'utf-8');
    expect(page).toContain("import styles from './feature-dashboard.module.css';");
    expect(page).toContain('export const dashboardSections: Section[]');
    expect(page).toContain('export function DashboardPage()');
    expect(page).toContain("<a href={'/dashboard'}>Dashboard</a>");
    expect(page).toContain('{dashboardSections.map(');
    expect(page).not.toMatch(/[Ss]ettings|dashboards/);
    expect(readFileSync(join(out, 'index.ts'), 'utf-8')).toBe("export * from './lib/feature-dashboard';\n");
    expect(readFileSync(join(out, 'lib/feature-dashboard.spec.tsx'), 'utf-8')).toContain(
      "import { DashboardPage } from './feature-dashboard';",
    );
  });

  it("registers the page in its wired files next to the reference's lines, once, and leaves other files alone", async () => {
    write(root, 'libs/shared-types/src/index.ts', 'export interface Section { id: string }\n');
    write(root, 'libs/feature-settings/src/index.ts', 'export function SettingsPage() {\n  return <main />;\n}\n');
    const pages = [
      "import { HomePage } from '@shop/feature-home';",
      "import { SettingsPage } from '@shop/feature-settings';",
      '',
      'export const pages = [',
      "  { path: '/', element: <HomePage /> },",
      "  { path: '/settings', element: <SettingsPage /> },",
      '];',
      '',
    ].join('\n');
    write(root, 'apps/shop/src/app/pages.tsx', pages);
    write(root, 'apps/shop/src/nav.md', '- [Home](/)\n- [Settings](/settings)\n');

    const report = await patternAgent.run(
      session({ wired: ['apps/shop/src/app/pages.tsx', 'apps/shop/src/nav.md', 'apps/shop/src/missing.ts'] }),
    );

    expect(report.ok).toBe(true);
    expect(report.summary).toContain('and registered it in apps/shop/src/app/pages.tsx, apps/shop/src/nav.md');
    expect(readFileSync(join(root, 'apps/shop/src/app/pages.tsx'), 'utf-8')).toBe(
      [
        "import { HomePage } from '@shop/feature-home';",
        "import { SettingsPage } from '@shop/feature-settings';",
        "import { DashboardPage } from '@shop/feature-dashboard';",
        '',
        'export const pages = [',
        "  { path: '/', element: <HomePage /> },",
        "  { path: '/settings', element: <SettingsPage /> },",
        "  { path: '/dashboard', element: <DashboardPage /> },",
        '];',
        '',
      ].join('\n'),
    );
    expect(readFileSync(join(root, 'apps/shop/src/nav.md'), 'utf-8')).toBe(
      '- [Home](/)\n- [Settings](/settings)\n- [Dashboard](/dashboard)\n',
    );
    // Run again (a repair round, a rerun): the entries are there, nothing is added twice.
    await patternAgent.run(session({ wired: ['apps/shop/src/app/pages.tsx'] }));
    expect(readFileSync(join(root, 'apps/shop/src/app/pages.tsx'), 'utf-8').match(/DashboardPage/g)).toHaveLength(2);
  });

  it('refuses a page that imports what the contracts do not export', async () => {
    write(root, 'libs/shared-types/src/index.ts', 'export interface Section { id: string }\n');
    write(
      root,
      'libs/feature-settings/src/index.ts',
      "import type { SettingsForm } from '@shop/shared-types';\nexport type Form = SettingsForm;\n",
    );
    const report = await patternAgent.run(session({}));
    expect(report.ok).toBe(false);
    expect(report.error).toContain('DashboardForm');
    expect(report.error).toContain('libs/shared-types');
  });
});
