import { addEntityCollection, addEntityExport, listCollections } from './contracts-source';
import { entityNames } from '../../core/naming/names';

const invoice = entityNames('invoice');

describe('addEntityExport', () => {
  const index = `// hand-written comment, kept as is
export * from './lib/types/api';
export * from './lib/entities/user';
export { something } from './lib/extra';
`;

  it('appends the entity export and leaves every existing line byte-identical', () => {
    const result = addEntityExport(index, invoice);
    expect(result.startsWith(index)).toBe(true);
    expect(result.slice(index.length)).toBe(`export * from './lib/entities/invoice';\n`);
  });

  it('is idempotent, with or without the .js extension', () => {
    const once = addEntityExport(index, invoice, '.js');
    expect(once).toContain(`export * from './lib/entities/invoice.js';`);
    expect(addEntityExport(once, invoice, '.js')).toBe(once);
    expect(addEntityExport(once, invoice, '')).toBe(once);
  });
});

describe('addEntityCollection', () => {
  const collections = `import type { User } from './entities/user';

/** docs kept */
export interface Collections {
  users: User;
}

export const untouched = 1;
`;

  it('adds the type import and the collection property', () => {
    const result = addEntityCollection(collections, invoice);
    expect(result).toContain(`import type { Invoice } from './entities/invoice';
`);
    expect(result).toMatch(/users: User;\n\s+invoices: Invoice;\n}/);
    expect(result).toContain('/** docs kept */');
    expect(result.endsWith('export const untouched = 1;\n')).toBe(true);
    expect(listCollections(result)).toEqual(['users', 'invoices']);
  });

  it('is idempotent', () => {
    const once = addEntityCollection(collections, invoice);
    expect(addEntityCollection(once, invoice)).toBe(once);
    expect(addEntityCollection(collections, entityNames('user'))).toBe(collections);
  });

  it('quotes a collection name that is not an identifier', () => {
    const result = addEntityCollection(collections, entityNames('line-item'));
    expect(result).toContain(`'line-items': LineItem;`);
    expect(listCollections(result)).toContain('line-items');
    expect(addEntityCollection(result, entityNames('line-item'))).toBe(result);
  });

  it('refuses a file whose Collections interface was removed', () => {
    expect(() => addEntityCollection('export const x = 1;\n', invoice)).toThrow(/has no "interface Collections"/);
  });
});
