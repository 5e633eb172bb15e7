import { substituteSource } from './substitution';
import { defaultSubject, isPluralNoun, siblingName, siblingSubject, subjectPairs, subjectSubstitution } from './subject';

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
  ])('%s → %s', (name, subject) => {
    expect(defaultSubject(name)).toBe(subject);
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
