import { names } from '@nx/devkit';
import { spellings } from './spellings';

function nxSpellings(name: string) {
  const { fileName, className, propertyName, constantName } = names(name);
  return { fileName, className, propertyName, constantName };
}

describe('spellings', () => {
  it.each([
    ['line-items', { fileName: 'line-items', className: 'LineItems', propertyName: 'lineItems', constantName: 'LINE_ITEMS' }],
    ['lineItems', { fileName: 'line-items', className: 'LineItems', propertyName: 'lineItems', constantName: 'LINE_ITEMS' }],
    ['LineItems', { fileName: 'line-items', className: 'LineItems', propertyName: 'lineItems', constantName: 'LINE_ITEMS' }],
    ['line_items', { fileName: 'line-items', className: 'LineItems', propertyName: 'lineItems', constantName: 'LINE_ITEMS' }],
    ['LINE_ITEMS', { fileName: 'line-items', className: 'LINEITEMS', propertyName: 'lINEITEMS', constantName: 'LINE_ITEMS' }],
    ['users', { fileName: 'users', className: 'Users', propertyName: 'users', constantName: 'USERS' }],
    [
      'feature-settings',
      { fileName: 'feature-settings', className: 'FeatureSettings', propertyName: 'featureSettings', constantName: 'FEATURE_SETTINGS' },
    ],
    ['orders2', { fileName: 'orders2', className: 'Orders2', propertyName: 'orders2', constantName: 'ORDERS2' }],
    ['user2Name', { fileName: 'user2-name', className: 'User2Name', propertyName: 'user2Name', constantName: 'USER2_NAME' }],
  ])('spells %s in every case', (name, expected) => {
    expect(spellings(name)).toEqual(expected);
  });

  it.each([
    'users',
    'line-items',
    'line_items',
    'lineItems',
    'LineItems',
    'LINE_ITEMS',
    'USERS',
    'HTMLParser',
    'myHTTPServer',
    'email-service',
    'data-access-orders',
    'Orders2',
    'v2-api',
    '_internal',
    'orders.api',
    'my name',
    '',
  ])('agrees with names() from @nx/devkit on %j', (name) => {
    expect(spellings(name)).toEqual(nxSpellings(name));
  });

  it('agrees with names() from @nx/devkit on 5,000 generated names of letters, digits and separators', () => {
    // A fixed-seed generator (mulberry32), so a difference is reproducible from the name the test prints.
    let seed = 0x5eed;
    const random = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const alphabet = 'abcxyzABCXYZ0129-_ .@/';
    const differing: string[] = [];
    for (let index = 0; index < 5000; index++) {
      const length = 1 + Math.floor(random() * 12);
      let name = '';
      for (let position = 0; position < length; position++) name += alphabet[Math.floor(random() * alphabet.length)];
      if (JSON.stringify(spellings(name)) !== JSON.stringify(nxSpellings(name))) differing.push(name);
    }
    expect(differing).toEqual([]);
  });
});
