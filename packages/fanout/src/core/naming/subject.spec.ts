import { substituteSource } from './substitution';
import {
  defaultSubject,
  isPluralNoun,
  proposeSubject,
  siblingName,
  siblingSubject,
  subjectOccurs,
  subjectPairs,
  subjectSubstitution,
} from './subject';

describe('defaultSubject', () => {
  it.each([
    ['feature-settings', 'settings'],
    ['users', 'users'],
    ['email-service', 'email'],
    ['@shop/feature-settings', 'settings'],
    ['ui-product-card', 'product-card'],
    ['data-access-orders', 'orders'],
    ['settings-page', 'settings'],
    ['billing-api', 'billing'],
    ['feature-checkout-ui', 'checkout'],
    ['api', 'api'],
    ['feature', 'feature'],
    ['FeatureSettings', 'settings'],
    ['channel-email', 'email'],
    ['@ws/email-channel', 'email'],
    ['channels-sms', 'sms'],
    ['stripe-adapter', 'stripe'],
  ])('%s → %s', (name, subject) => {
    expect(defaultSubject(name)).toBe(subject);
  });
});

describe('proposeSubject', () => {
  it('takes the word the name, the file names and the exported symbols share: email for channel-email', () => {
    expect(
      proposeSubject({
        projectName: '@ws/channel-email',
        folderName: 'channel-email',
        fileNames: ['index.ts', 'email-channel.ts', 'email-channel.spec.ts'],
        symbols: ['EmailChannel'],
      }),
    ).toEqual({ subject: 'email', candidates: ['email'] });
  });

  it('leaves out the parent folders a nested project is named after: product-detail for an Angular page', () => {
    const page = {
      projectName: 'products-product-detail-page',
      folderName: 'product-detail-page',
      fileNames: [
        'index.ts',
        'products-product-detail-page.module.ts',
        'product-detail-page.component.ts',
        'product-detail-page.component.html',
        'product-detail-page.component.spec.ts',
      ],
      symbols: ['ProductsProductDetailPageModule', 'ProductDetailPageComponent'],
    };
    expect(proposeSubject(page)).toEqual({ subject: 'product-detail', candidates: ['product-detail'] });
    // Today's default from the name alone is what the symbols of the component do not hold.
    expect(defaultSubject(page.projectName)).toBe('products-product-detail');
  });

  it('prefers the longest run found in both file names and symbols', () => {
    expect(
      proposeSubject({
        projectName: 'ui-product-card',
        fileNames: ['product-card.tsx', 'product.ts'],
        symbols: ['ProductCard', 'productLabel'],
      }).subject,
    ).toBe('product-card');
    // A run in the file names only loses to one in both.
    expect(proposeSubject({ projectName: 'report-chart', fileNames: ['report-chart.tsx'], symbols: ['ChartLegend'] }).subject).toBe(
      'chart',
    );
  });

  it("reads a parent folder's word when the folder itself is named by its kind", () => {
    expect(
      proposeSubject({ projectName: 'orders-feature', folderName: 'feature', fileNames: ['orders.routes.ts'], symbols: ['ordersRoutes'] }),
    ).toEqual({ subject: 'orders', candidates: ['orders'] });
  });

  it('proposes every candidate and chooses none when they tie', () => {
    expect(
      proposeSubject({ projectName: '@ws/invoice-pdf', fileNames: ['pdf-invoice.ts'], symbols: ['PdfInvoice', 'PDF_INVOICE_MARGIN'] }),
    ).toEqual({ candidates: ['invoice', 'pdf'] });
  });

  it('proposes nothing when the names share no word', () => {
    expect(proposeSubject({ projectName: 'shell', fileNames: ['app.tsx'], symbols: ['App'] })).toEqual({ candidates: [] });
  });
});

describe('subjectOccurs', () => {
  it('finds a subject in any spelling, inside a longer name', () => {
    const names = { fileNames: ['feature-settings.tsx'], symbols: ['SETTINGS_KEY', 'SettingsPage'] };
    expect(subjectOccurs('settings', names)).toBe(true);
    expect(subjectOccurs('billing', names)).toBe(false);
  });
});

describe('siblingName and siblingSubject', () => {
  it.each([
    ['feature-settings', 'settings', 'dashboard', 'feature-dashboard'],
    ['feature-settings', 'settings', 'feature-dashboard', 'feature-dashboard'],
    ['users', 'users', 'orders', 'orders'],
    ['email-service', 'email', 'sms', 'sms-service'],
    ['@shop/feature-settings', 'settings', 'profile', 'feature-profile'],
    ['shell', 'settings', 'dashboard', 'dashboard'],
  ])('%s (subject %s) and task %s → %s', (reference, subject, task, name) => {
    expect(siblingName(reference, subject, task)).toBe(name);
  });

  it('reads a sibling subject back with the reference pattern', () => {
    expect(siblingSubject('feature-settings', 'settings', 'feature-dashboard')).toBe('dashboard');
    expect(siblingSubject('email-service', 'email', 'push-notifications-service')).toBe('push-notifications');
    expect(siblingSubject('users', 'users', 'orders')).toBe('orders');
    expect(siblingSubject('feature-settings', 'settings', 'profile-page')).toBe('profile');
  });
});

describe('isPluralNoun', () => {
  it.each([
    ['users', true],
    ['line-items', true],
    ['settings', true],
    ['categories', true],
    ['dashboard', false],
    ['status', false],
    ['analysis', false],
    ['address', false],
    ['news', false],
    ['email', false],
  ])('%s: %s', (word, plural) => {
    expect(isPluralNoun(word)).toBe(plural);
  });
});

describe('subjectPairs', () => {
  it('maps kebab, snake, camel, Pascal and CONSTANT spellings', () => {
    expect(Object.fromEntries(subjectPairs('product-card', 'order-summary', 'identifier'))).toEqual({
      'product-card': 'order-summary',
      product_card: 'order_summary',
      productCard: 'orderSummary',
      ProductCard: 'OrderSummary',
      PRODUCT_CARD: 'ORDER_SUMMARY',
    });
  });

  it('maps singular and plural only when both subjects are plural nouns', () => {
    expect(Object.fromEntries(subjectPairs('users', 'orders'))).toMatchObject({
      users: 'orders',
      user: 'order',
      User: 'Order',
      USER: 'ORDER',
    });
    const settingsToDashboard = Object.fromEntries(subjectPairs('settings', 'dashboard'));
    expect(settingsToDashboard).toEqual({ settings: 'dashboard', Settings: 'Dashboard', SETTINGS: 'DASHBOARD' });
    expect(Object.values(settingsToDashboard)).not.toContain('dashboards');
  });

  it('prefers the camel spelling in identifiers and the kebab one in text', () => {
    expect(Object.fromEntries(subjectPairs('users', 'line-items', 'identifier')).users).toBe('lineItems');
    expect(Object.fromEntries(subjectPairs('users', 'line-items', 'text')).users).toBe('line-items');
  });
});

describe('a page: settings → dashboard', () => {
  const rename = subjectSubstitution('settings', 'dashboard', 'text');

  it('renames the identifiers, the route and the files of a page', () => {
    const source = [
      "import styles from './feature-settings.module.css';",
      "import type { Section } from '@shop/shared-types';",
      "export const SETTINGS_ROUTE = '/settings';",
      'export const settingsSections: Section[] = [];',
      'export function SettingsPage() {',
      '  return <main className={styles.page}><h1>Settings</h1></main>;',
      '}',
      '',
    ].join('\n');
    expect(substituteSource(source, 'settings', 'dashboard')).toBe(
      [
        "import styles from './feature-dashboard.module.css';",
        "import type { Section } from '@shop/shared-types';",
        "export const DASHBOARD_ROUTE = '/dashboard';",
        'export const dashboardSections: Section[] = [];',
        'export function DashboardPage() {',
        '  return <main className={styles.page}><h1>Dashboard</h1></main>;',
        '}',
        '',
      ].join('\n'),
    );
    expect(rename('lib/feature-settings.module.css')).toBe('lib/feature-dashboard.module.css');
    expect(rename('lib/feature-settings.spec.tsx')).toBe('lib/feature-dashboard.spec.tsx');
  });

  it('never invents a plural', () => {
    expect(substituteSource('export const settingsPageMeta = { title: "Settings" };', 'settings', 'dashboard')).toBe(
      'export const dashboardPageMeta = { title: "Dashboard" };',
    );
  });
});
