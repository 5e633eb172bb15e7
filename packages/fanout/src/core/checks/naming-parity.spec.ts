import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { write } from '../../testing/git-workspace';
import type { CheckInput } from './check';
import { namingParity } from './naming-parity';

describe('naming-parity', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-naming-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const input = (reference: string, project: string, subjects: CheckInput['subjects']): CheckInput => ({
    root,
    project,
    projectRoot: `libs/${project}`,
    files: [],
    contracts: { project: 'shared-types', root: 'libs/shared-types', importPath: '@shop/shared-types' },
    reference: { project: reference, root: `libs/${reference}` },
    subjects,
  });
  const messages = (check: CheckInput) =>
    namingParity.run(check, 'warning').map((finding) => `${finding.file}:${finding.line} ${finding.message} Fix: ${finding.fix}`);

  describe('an API: users → orders', () => {
    beforeEach(() => {
      write(root, 'libs/users/src/index.ts', "export * from './lib/users.handler';\n");
      write(
        root,
        'libs/users/src/lib/users.handler.ts',
        'export const USERS_BASE_PATH = "/users";\nexport function createUsersHandlers() {}\n',
      );
    });

    it('is silent when the sibling follows the reference', () => {
      write(root, 'libs/orders/src/index.ts', "export * from './lib/orders.handler';\n");
      write(
        root,
        'libs/orders/src/lib/orders.handler.ts',
        'export const ORDERS_BASE_PATH = "/orders";\nexport function createOrdersHandlers() {}\n',
      );
      expect(messages(input('users', 'orders', { reference: 'users', task: 'orders' }))).toEqual([]);
    });

    it('names the missing file and the misnamed export, with the name it should have', () => {
      write(root, 'libs/orders/src/index.ts', "export * from './lib/order.handlers';\n");
      write(
        root,
        'libs/orders/src/lib/order.handlers.ts',
        'export const ORDERS_BASE_PATH = "/orders";\nexport function createOrderHandlers() {}\n',
      );
      expect(messages(input('users', 'orders', { reference: 'users', task: 'orders' }))).toEqual([
        'libs/orders/src/lib/orders.handler.ts:0 is missing: the reference has libs/users/src/lib/users.handler.ts. Fix: name the file lib/orders.handler.ts, as the reference names its counterpart.',
        "libs/orders/src/lib/order.handlers.ts:2 exports createOrderHandlers where the reference's createUsersHandlers calls for createOrdersHandlers. Fix: rename createOrderHandlers to createOrdersHandlers.",
      ]);
    });
  });

  describe('a page: settings → dashboard', () => {
    beforeEach(() => {
      write(root, 'libs/feature-settings/src/index.ts', "export * from './lib/feature-settings';\n");
      write(
        root,
        'libs/feature-settings/src/lib/feature-settings.tsx',
        "import styles from './feature-settings.module.css';\nexport const settingsPageMeta = { title: 'Settings' };\nexport const routes = ['/settings'];\nexport function SettingsPage() {\n  return <div className={styles.page} />;\n}\n",
      );
      write(root, 'libs/feature-settings/src/lib/feature-settings.module.css', '.page {}\n');
    });

    it('expects the page names with the subject replaced, never a plural it invented', () => {
      write(root, 'libs/feature-dashboard/src/index.ts', "export * from './lib/feature-dashboard';\n");
      write(
        root,
        'libs/feature-dashboard/src/lib/feature-dashboard.tsx',
        "export const dashbordPageMeta = { title: 'Dashboard' };\nexport const routes = ['/dashboard'];\nexport function DashboardPage() {\n  return null;\n}\n",
      );
      const found = messages(input('feature-settings', 'feature-dashboard', { reference: 'settings', task: 'dashboard' }));
      expect(found).toEqual([
        'libs/feature-dashboard/src/lib/feature-dashboard.module.css:0 is missing: the reference has libs/feature-settings/src/lib/feature-settings.module.css. Fix: name the file lib/feature-dashboard.module.css, as the reference names its counterpart.',
        "libs/feature-dashboard/src/lib/feature-dashboard.tsx:1 exports dashbordPageMeta where the reference's settingsPageMeta calls for dashboardPageMeta. Fix: rename dashbordPageMeta to dashboardPageMeta.",
      ]);
      expect(found.join('\n')).not.toMatch(/dashboards/);
    });

    it('says nothing about names that do not carry the subject, and never proposes a rename to the same name', () => {
      write(root, 'libs/feature-dashboard/src/index.ts', "export * from './lib/feature-dashboard';\n");
      write(root, 'libs/feature-dashboard/src/lib/feature-dashboard.module.css', '.page {}\n');
      write(
        root,
        'libs/feature-dashboard/src/lib/feature-dashboard.tsx',
        'export const dashboardPageMeta = {};\nexport function DashboardPage() {\n  return null;\n}\n',
      );
      // `routes` is the reference's too, but carries no subject: no counterpart is known, so nothing is said.
      expect(messages(input('feature-settings', 'feature-dashboard', { reference: 'settings', task: 'dashboard' }))).toEqual([]);
      for (const finding of namingParity.run(
        input('feature-settings', 'feature-dashboard', { reference: 'settings', task: 'settings' }),
        'warning',
      )) {
        expect(finding.fix).not.toMatch(/(\w+) → \1\b/);
      }
    });
  });
});
