import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { resultFile } from '../../constants';
import { compareText } from '../system/compare';
import { inLandingOrder } from './order';

describe('inLandingOrder', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'fanout-order-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const ended = (project: string, endedAt: string | undefined) => {
    const file = resultFile(root, project);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, JSON.stringify({ version: 3, project, ...(endedAt ? { endedAt } : {}) }));
  };
  const task = (project: string) => ({ id: `${project}:fanout`, target: { project } });

  it('orders landings as their sessions ended; a record without an end, or none, first; ties by task id', () => {
    ended('orders', '2026-12-07T08:00:02.000Z');
    ended('Users', '2026-12-07T08:00:01.000Z');
    ended('carts', '2026-12-07T08:00:01.000Z');
    ended('invoices', undefined);
    writeFileSync(join(root, 'unrelated'), '');
    expect(inLandingOrder(root, [task('orders'), task('carts'), task('invoices'), task('Users'), task('payments')])).toEqual([
      'invoices:fanout',
      'payments:fanout',
      'Users:fanout',
      'carts:fanout',
      'orders:fanout',
    ]);
  });

  it('reads a record that is not JSON as one without an end', () => {
    ended('orders', '2026-12-07T08:00:02.000Z');
    mkdirSync(join(resultFile(root, 'carts'), '..'), { recursive: true });
    writeFileSync(resultFile(root, 'carts'), '{ not json');
    expect(inLandingOrder(root, [task('orders'), task('carts')])).toEqual(['carts:fanout', 'orders:fanout']);
  });
});

describe('compareText', () => {
  it('orders by code units, the same in every locale (upper case before lower, "-" before "_")', () => {
    expect(['b', 'a-b', 'B', 'a_b', 'a'].sort(compareText)).toEqual(['B', 'a', 'a-b', 'a_b', 'b']);
    expect(compareText('same', 'same')).toBe(0);
  });
});
