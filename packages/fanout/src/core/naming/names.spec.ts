import {
  assertSessionName,
  assertValidName,
  entityNames,
  normalizeWorkspaceDirectory,
  parseEntityList,
  pluralize,
  singularize,
} from './names';

describe('assertValidName', () => {
  it.each(['users', 'line-items', 'line_items', 'Orders2'])('accepts %s', (name) => {
    expect(() => assertValidName(name, 'project name')).not.toThrow();
  });

  it.each(['../x', '/abs', 'a/../../b', 'a/b', 'x.y', '1users', '', ' ', 'users-', 'a--b', '$(touch x)'])(
    'rejects %j with a message naming the value',
    (name) => {
      expect(() => assertValidName(name, 'project name')).toThrow(/project name/);
    },
  );

  it('explains what a valid name looks like', () => {
    expect(() => assertValidName('../x', 'project name')).toThrow('The project name "../x" is not a valid name');
  });
});

describe('assertSessionName', () => {
  it.each(['orders', 'line-items', '@org/orders', 'orders2.api', 'o$(touch${IFS}X);y|z`w`\'"&<>'])(
    'accepts %j: shell metacharacters are data, never a path or a command',
    (name) => {
      expect(() => assertSessionName(name)).not.toThrow();
    },
  );

  it.each([
    ['../../libs/contracts', 'a part that starts or ends with "."'],
    ['a/../b', 'a part that starts or ends with "."'],
    ['..', 'a part that starts or ends with "."'],
    ['.git', 'a part that starts or ends with "."'],
    ['orders.', 'a part that starts or ends with "."'],
    ['orders.lock', 'ends with ".lock"'],
    ['/abs', 'a leading "/"'],
    ['-orders', 'a leading "/" or "-"'],
    ['a//b', 'an empty part'],
    ['orders/', 'a trailing "/"'],
    ['orders\ntouch X', 'a control character'],
    ['my orders', 'a space'],
    ['a\\b', 'any of'],
    ['a:b', 'any of'],
    ['a@{1}', '"@{"'],
  ])('rejects %j, saying why and what to do', (name, why) => {
    expect(() => assertSessionName(name)).toThrow(why);
    expect(() => assertSessionName(name)).toThrow(`The project name ${JSON.stringify(name)} cannot name a fanout session`);
    expect(() => assertSessionName(name)).toThrow('Rename the project');
  });
});

describe('normalizeWorkspaceDirectory', () => {
  it('normalises separators and dots inside the workspace', () => {
    expect(normalizeWorkspaceDirectory('./libs//shared\\contracts/')).toBe('libs/shared/contracts');
  });

  it.each([
    ['/abs/x', /absolute/],
    ['C:/x', /absolute/],
    ['../x', /"\.\."/],
    ['a/../../b', /"\.\."/],
    ['a/../b', /"\.\."/],
    ['.', /workspace root/],
    ['libs/a b', /unusual segment/],
    ['', /must not be empty/],
  ])('rejects %j', (directory, message) => {
    expect(() => normalizeWorkspaceDirectory(directory)).toThrow(message);
  });
});

describe('inflection', () => {
  it.each([
    ['user', 'users'],
    ['category', 'categories'],
    ['box', 'boxes'],
    ['address', 'addresses'],
    ['day', 'days'],
    ['line-item', 'line-items'],
  ])('%s <-> %s', (one, many) => {
    expect(pluralize(one)).toBe(many);
    expect(singularize(many)).toBe(one);
  });

  it('gives every spelling of an entity from singular or plural', () => {
    const expected = {
      singular: 'line-item',
      plural: 'line-items',
      className: 'LineItem',
      pluralClassName: 'LineItems',
      propertyName: 'lineItem',
      pluralPropertyName: 'lineItems',
      constantName: 'LINE_ITEM',
      pluralConstantName: 'LINE_ITEMS',
    };
    expect(entityNames('line-item')).toEqual(expected);
    expect(entityNames('lineItems')).toEqual(expected);
    expect(entityNames('LineItems')).toEqual(expected);
  });
});

describe('parseEntityList', () => {
  it('splits, trims and de-duplicates singular and plural spellings', () => {
    expect(parseEntityList(' user, orders ,users,,product').map((entity) => entity.singular)).toEqual(['user', 'order', 'product']);
  });

  it('accepts an array and an empty value', () => {
    expect(parseEntityList(['invoice']).map((entity) => entity.plural)).toEqual(['invoices']);
    expect(parseEntityList(undefined)).toEqual([]);
  });

  it('rejects an entity that is not a name', () => {
    expect(() => parseEntityList('user,../etc')).toThrow(/entity name "\.\.\/etc"/);
  });
});
