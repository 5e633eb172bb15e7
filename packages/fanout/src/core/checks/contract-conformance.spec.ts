import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { write } from '../../testing/git-workspace';
import type { CheckInput } from './check';
import { contractConformance } from './contract-conformance';

describe('contractConformance', () => {
  let root: string;
  const input = (files: Record<string, string>): CheckInput => {
    for (const [file, text] of Object.entries(files)) write(root, file, text);
    return {
      root,
      project: 'orders',
      projectRoot: 'libs/orders',
      files: Object.keys(files),
      contracts: { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' },
      reference: { project: 'users', root: 'libs/users' },
      subjects: { reference: 'users', task: 'orders' },
    };
  };
  const messages = (files: Record<string, string>) =>
    contractConformance.run(input(files), 'error').map((finding) => `${finding.file}:${finding.line} ${finding.message}`);

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-conformance-'));
    write(
      root,
      'libs/contracts/src/index.ts',
      "export * from './lib/entities';\nexport { Shape as Outline } from './lib/shapes.js';\nexport { Status };\nimport { Status } from './lib/status';\nexport const VERSION = 1;\n",
    );
    write(root, 'libs/contracts/src/lib/entities/index.ts', "export * from './user';\nexport * from '../cycle';\n");
    write(
      root,
      'libs/contracts/src/lib/entities/user.ts',
      'export interface User {\n  id: string;\n  name?: string;\n}\ninterface Hidden { secret: string }\n',
    );
    write(root, 'libs/contracts/src/lib/cycle.ts', "export * from './entities';\nexport type Page = { items: string[]; total: number };\n");
    write(root, 'libs/contracts/src/lib/shapes.ts', 'export interface Shape { kind: string }\n');
    write(root, 'libs/contracts/src/lib/status.ts', "export enum Status { Open = 'open', Closed = 'closed' }\n");
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds the contract types through export *, renamed and re-exported imports, .js specifiers and export cycles', () => {
    expect(
      messages({
        'libs/orders/src/types.ts':
          'export interface User { id: string }\nexport type Outline = { other: number };\nenum Status { A }\ntype Page = string;\ninterface Hidden { x: number }\n',
      }),
    ).toEqual([
      'libs/orders/src/types.ts:1 declares User, which the contracts already export.',
      'libs/orders/src/types.ts:2 declares Outline, which the contracts already export.',
      'libs/orders/src/types.ts:4 declares Page, which the contracts already export.',
      'libs/orders/src/types.ts:3 declares Status, which the contracts already export.',
    ]);
  });

  it('finds a copy under another name by its members and their types, optional ones included', () => {
    expect(
      messages({
        'libs/orders/src/copies.ts':
          '// copies\nexport interface Person {\n  name?: string;\n  id: string;\n}\nexport type Listing = { total: number; items: string[] };\nexport enum State { Closed, Open }\n' +
          'export interface NotQuite { id: string; name: string }\n',
      }),
    ).toEqual([
      'libs/orders/src/copies.ts:2 declares Person with the same structure as the contract type User.',
      'libs/orders/src/copies.ts:6 declares Listing with the same structure as the contract type Page.',
      'libs/orders/src/copies.ts:7 declares State with the same structure as the contract type Status.',
    ]);
  });

  it('passes code that imports the contracts from their import path and declares types of its own', () => {
    expect(
      messages({
        'libs/orders/src/orders.ts':
          "import { type User, Status } from '@ws/contracts';\nimport { helper } from './helper';\nexport interface Order { id: string; owner: User; status: Status }\n",
        'libs/orders/src/helper.ts': 'export const helper = 1;\n',
      }),
    ).toEqual([]);
  });

  it('reports imports of the contracts through a deep path, a relative path or a linked package of another name', () => {
    mkdirSync(join(root, 'node_modules', '@old'), { recursive: true });
    symlinkSync(join(root, 'libs', 'contracts'), join(root, 'node_modules', '@old', 'contracts'), 'dir');
    expect(
      messages({
        'libs/orders/src/imports.ts':
          "import { User } from '@ws/contracts/src/lib/entities/user';\n" +
          "import type { Shape } from '../../contracts/src/lib/shapes.js';\n" +
          "import { Status } from '@old/contracts';\n" +
          "import { readFileSync } from 'fs';\n",
      }),
    ).toEqual([
      "libs/orders/src/imports.ts:1 imports the contracts through '@ws/contracts/src/lib/entities/user'.",
      "libs/orders/src/imports.ts:2 imports the contracts through '../../contracts/src/lib/shapes.js'.",
      "libs/orders/src/imports.ts:3 imports the contracts through '@old/contracts'.",
    ]);
  });

  it('has nothing to say without a contracts entry point, and skips declaration files and missing files', () => {
    const findings = input({ 'libs/orders/src/types.d.ts': 'export interface User { id: string }\n' });
    expect(contractConformance.run({ ...findings, files: [...findings.files, 'libs/orders/src/gone.ts'] }, 'error')).toEqual([]);
    rmSync(join(root, 'libs/contracts/src/index.ts'));
    expect(contractConformance.run(input({ 'libs/orders/src/types.ts': 'export interface User { id: string }\n' }), 'warning')).toEqual([]);
  });
});
