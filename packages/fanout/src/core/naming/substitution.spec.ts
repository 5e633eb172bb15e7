import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { referenceSubject, substituteSource, substitution } from './substitution';

describe('substitution', () => {
  const usersToOrders = substitution('users', 'orders');

  it.each([
    ['users', 'orders'],
    ['Users', 'Orders'],
    ['USERS', 'ORDERS'],
    ['user', 'order'],
    ['User', 'Order'],
    ['USER', 'ORDER'],
    ['usersRoutes', 'ordersRoutes'],
    ['createUsersHandlers', 'createOrdersHandlers'],
    ['USERS_COLLECTION', 'ORDERS_COLLECTION'],
    ['USERS_BASE_PATH', 'ORDERS_BASE_PATH'],
    ['validateCreateUserRequest', 'validateCreateOrderRequest'],
    ['userFixtures', 'orderFixtures'],
    ['lib/users.handler.ts', 'lib/orders.handler.ts'],
  ])('users → orders: %s becomes %s', (from, to) => {
    expect(usersToOrders(from)).toBe(to);
  });

  it('replaces every occurrence in a text and leaves the rest alone', () => {
    expect(usersToOrders("const user = await db.get(USERS_COLLECTION, id);\nreturn user ? ok(user) : notFound('user', id);")).toBe(
      "const order = await db.get(ORDERS_COLLECTION, id);\nreturn order ? ok(order) : notFound('order', id);",
    );
    expect(usersToOrders('export function list(request: ApiRequest) {}')).toBe('export function list(request: ApiRequest) {}');
  });

  describe('multi-word entities', () => {
    const lineItemsToPurchaseOrders = substitution('line-items', 'purchase-orders');

    it.each([
      ['line-items', 'purchase-orders'],
      ['LineItems', 'PurchaseOrders'],
      ['lineItems', 'purchaseOrders'],
      ['LINE_ITEMS', 'PURCHASE_ORDERS'],
      ['line-item', 'purchase-order'],
      ['LineItem', 'PurchaseOrder'],
      ['lineItem', 'purchaseOrder'],
      ['LINE_ITEM', 'PURCHASE_ORDER'],
      ['LINE_ITEMS_COLLECTION', 'PURCHASE_ORDERS_COLLECTION'],
      ['createLineItemsHandlers', 'createPurchaseOrdersHandlers'],
      ['validateCreateLineItemRequest', 'validateCreatePurchaseOrderRequest'],
      ['lib/line-items.handler.ts', 'lib/purchase-orders.handler.ts'],
      ["notFound('line-item', id)", "notFound('purchase-order', id)"],
    ])('line-items → purchase-orders: %s becomes %s', (from, to) => {
      expect(lineItemsToPurchaseOrders(from)).toBe(to);
    });

    it('turns a single-word entity into every spelling of a multi-word one in identifiers', () => {
      const usersToLineItems = substitution('users', 'line-items');
      expect(usersToLineItems('createUsersHandlers USERS_COLLECTION validateCreateUserRequest usersRoutes')).toBe(
        'createLineItemsHandlers LINE_ITEMS_COLLECTION validateCreateLineItemRequest lineItemsRoutes',
      );
    });
  });

  it('writes kebab-case in strings and paths, camelCase in identifiers, for a multi-word target', () => {
    const source = [
      "import { USERS_COLLECTION, type User } from '@ws/contracts';",
      "export const USERS_BASE_PATH = '/users';",
      '// Serves users.',
      'export const usersRoutes = [{ path: `${USERS_BASE_PATH}/:id`, name: `user ${1}` }];',
      'export function get(users: User[]) {',
      '  const user = users[0];',
      "  return user ?? notFound('user', `${users.length}/users`);",
      '}',
      '',
    ].join('\n');
    expect(substituteSource(source, 'users', 'line-items')).toBe(
      [
        "import { LINE_ITEMS_COLLECTION, type LineItem } from '@ws/contracts';",
        "export const LINE_ITEMS_BASE_PATH = '/line-items';",
        '// Serves line-items.',
        'export const lineItemsRoutes = [{ path: `${LINE_ITEMS_BASE_PATH}/:id`, name: `line-item ${1}` }];',
        'export function get(lineItems: LineItem[]) {',
        '  const lineItem = lineItems[0];',
        "  return lineItem ?? notFound('line-item', `${lineItems.length}/line-items`);",
        '}',
        '',
      ].join('\n'),
    );
    expect(substitution('users', 'line-items', 'text')('lib/users.handler.ts')).toBe('lib/line-items.handler.ts');
  });

  it('is the identity between an entity and itself', () => {
    const same = substitution('users', 'users');
    expect(same('createUsersHandlers USER users')).toBe('createUsersHandlers USER users');
  });
});

describe('referenceSubject', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-substitution-'));
    mkdirSync(join(dir, 'lib'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the API scaffold's subject from its <plural>.handler.ts file", () => {
    writeFileSync(join(dir, 'index.ts'), '');
    writeFileSync(join(dir, 'lib', 'people.handler.ts'), '');
    writeFileSync(join(dir, 'lib', 'people.handler.spec.ts'), '');
    expect(referenceSubject(dir, 'directory-api')).toEqual('people');
  });

  it('reads a multi-word entity', () => {
    writeFileSync(join(dir, 'lib', 'line-items.routes.ts'), '');
    writeFileSync(join(dir, 'lib', 'line-items.handler.ts'), '');
    expect(referenceSubject(dir, 'api')).toEqual('line-items');
  });

  it('falls back to the project name when there is no handler file', () => {
    writeFileSync(join(dir, 'lib', 'customers.routes.ts'), '');
    writeFileSync(join(dir, 'lib', 'handler.ts'), '');
    expect(referenceSubject(dir, 'users')).toEqual('users');
    expect(referenceSubject(dir, 'feature-settings')).toEqual('settings');
  });

  it('takes the recorded subject over anything it could read', () => {
    writeFileSync(join(dir, 'lib', 'people.handler.ts'), '');
    expect(referenceSubject(dir, 'feature-settings', 'preferences')).toEqual('preferences');
  });
});
