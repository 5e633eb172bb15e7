import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { runCommand } from './run-command';
import { e2eEnv, INSTALLING, nxVersion, requireEnv, TestWorkspace } from './workspace';

/**
 * An Angular shop as a team writes it with NgModules, laid out like Nx's public Angular example:
 * Yarn 4 through corepack (`packageManager`, `nodeLinker: node-modules`), one package.json and
 * project.json per project, workspace dependencies in `devDependencies` as `workspace:*`,
 * TypeScript project references (Nx's `@nx/js/typescript` plugin infers each `typecheck`), and an
 * app whose root module lists lazy routes of several lines. Its projects:
 *
 * - `shared-product-types` (libs/shared/product/types): the product types;
 * - `shared-product-state` (libs/shared/product/state): a store of products, over the types;
 * - `products-product-detail-page` (libs/products/product-detail-page): a page module that reaches
 *   the types through the state library only;
 * - `shop` (apps/shop): the app, whose `app.module.ts` loads the page module lazily.
 *
 * Written by hand rather than by `create-nx-workspace --preset=angular-monorepo`: what matters is
 * the layout, and an install of only what an NgModule app needs takes seconds, not minutes.
 */

/**
 * A prerelease of Nx 23, as the public example pins one, and not the Nx fanout is built with.
 * Yarn resolves every platform's optional dependency, so the version must have all of Nx's
 * native packages on the registry (23.0.0-rc.4 lacks some on a mirror).
 */
export const ANGULAR_NX_VERSION = '23.0.0-beta.25';
/** The Yarn `packageManager` pins: corepack fetches it. */
export const YARN_VERSION = '4.18.1';

const SCOPE = '@shop';
export const TYPES = 'shared-product-types';
export const STATE = 'shared-product-state';
export const DETAIL_PAGE = 'products-product-detail-page';
export const APP_MODULE = 'apps/shop/src/app/app.module.ts';

/** Angular 21, and of it only the packages an NgModule app with lazy routes needs, so that the install stays small. */
const ANGULAR_VERSION = '~21.2.0';

interface Project {
  name: string;
  root: string;
  type: 'application' | 'library';
  /** Workspace projects it imports, by project name. */
  deps: string[];
  tags: string[];
}

const PROJECTS: Project[] = [
  { name: TYPES, root: 'libs/shared/product/types', type: 'library', deps: [], tags: ['type:types', 'scope:shared'] },
  { name: STATE, root: 'libs/shared/product/state', type: 'library', deps: [TYPES], tags: ['type:state', 'scope:shared'] },
  {
    name: DETAIL_PAGE,
    root: 'libs/products/product-detail-page',
    type: 'library',
    deps: [STATE],
    tags: ['type:feature', 'scope:products'],
  },
  { name: 'shop', root: 'apps/shop', type: 'application', deps: [DETAIL_PAGE], tags: ['type:app', 'scope:products'] },
];

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
const packageName = (project: string) => `${SCOPE}/${project}`;
const byName = (name: string) => PROJECTS.find((project) => project.name === name) as Project;
/** The way back to the workspace root from a project's root (`../..`). */
const up = (root: string) => root.replace(/[^/]+/g, '..');
/** The project's compiled configuration: tsconfig.app.json for the app, tsconfig.lib.json for a library. */
const buildConfig = (project: Project) => (project.type === 'application' ? 'tsconfig.app.json' : 'tsconfig.lib.json');
const relativeTo = (from: Project, to: Project) => posix.relative(from.root, to.root);

function projectFiles(project: Project): Record<string, string> {
  const config = buildConfig(project);
  return {
    [`${project.root}/project.json`]: json({
      name: project.name,
      $schema: `${up(project.root)}/node_modules/nx/schemas/project-schema.json`,
      projectType: project.type,
      sourceRoot: `${project.root}/src`,
      prefix: 'shop',
      tags: project.tags,
    }),
    [`${project.root}/package.json`]: json({
      name: packageName(project.name),
      version: '0.0.0',
      private: true,
      ...(project.type === 'library'
        ? {
            exports: {
              '.': { types: './src/index.ts', import: './src/index.ts', default: './src/index.ts' },
            },
          }
        : {}),
      ...(project.deps.length > 0
        ? { devDependencies: Object.fromEntries(project.deps.map((dep) => [packageName(dep), 'workspace:*'])) }
        : {}),
    }),
    [`${project.root}/tsconfig.json`]: json({
      extends: `${up(project.root)}/tsconfig.base.json`,
      files: [],
      include: [],
      references: [{ path: `./${config}` }],
    }),
    [`${project.root}/${config}`]: json({
      extends: `${up(project.root)}/tsconfig.base.json`,
      compilerOptions: {
        rootDir: 'src',
        outDir: 'out-tsc',
        tsBuildInfoFile: `out-tsc/${config.replace(/\.json$/, '.tsbuildinfo')}`,
        types: [],
      },
      include: ['src/**/*.ts'],
      references: project.deps.map((dep) => ({ path: `${relativeTo(project, byName(dep))}/${buildConfig(byName(dep))}` })),
    }),
  };
}

const TYPES_SOURCE = `/** A product of the shop's catalogue. */
export interface Product {
  id: string;
  name: string;
  /** In cents. */
  price: number;
}
`;

const STATE_SOURCE = `import { Injectable } from '@angular/core';
import { BehaviorSubject, map, type Observable } from 'rxjs';
import type { Product } from '${packageName(TYPES)}';

export type { Product } from '${packageName(TYPES)}';

/** The products the shop knows, shared by its pages. */
@Injectable({ providedIn: 'root' })
export class ProductStore {
  private readonly products = new BehaviorSubject<Product[]>([
    { id: 'mug', name: 'Mug', price: 1200 },
    { id: 'cap', name: 'Cap', price: 1900 },
  ]);

  product(id: string): Observable<Product | undefined> {
    return this.products.pipe(map((products) => products.find((product) => product.id === id)));
  }
}
`;

const DETAIL_COMPONENT = `import { Component, inject } from '@angular/core';
import { ActivatedRoute } from '@angular/router';
import { map, switchMap, type Observable } from 'rxjs';
import { ProductStore, type Product } from '${packageName(STATE)}';

@Component({
  selector: 'shop-product-detail-page',
  templateUrl: './product-detail-page.component.html',
  standalone: false,
})
export class ProductDetailPageComponent {
  private readonly store = inject(ProductStore);
  private readonly route = inject(ActivatedRoute);

  readonly product: Observable<Product | undefined> = this.route.paramMap.pipe(
    map((params) => params.get('productId') ?? ''),
    switchMap((productId) => this.store.product(productId)),
  );
}
`;

const DETAIL_TEMPLATE = `<article class="product-detail-page" *ngIf="product | async as product">
  <h1>{{ product.name }}</h1>
  <p>{{ product.price / 100 | currency }}</p>
</article>
`;

const DETAIL_MODULE = `import { CommonModule } from '@angular/common';
import { NgModule } from '@angular/core';
import { RouterModule } from '@angular/router';

import { ProductDetailPageComponent } from './product-detail-page/product-detail-page.component';

@NgModule({
  imports: [CommonModule, RouterModule.forChild([{ path: ':productId', component: ProductDetailPageComponent }])],
  declarations: [ProductDetailPageComponent],
})
export class ProductsProductDetailPageModule {}
`;

/** The app's root module: each page is a lazy route of several lines, the detail page's first. */
export const APP_MODULE_SOURCE = `import { NgModule } from '@angular/core';
import { BrowserModule } from '@angular/platform-browser';
import { RouterModule } from '@angular/router';

import { AppComponent } from './app.component';

@NgModule({
  declarations: [AppComponent],
  imports: [
    BrowserModule,
    RouterModule.forRoot(
      [
        {
          path: 'product-detail',
          loadChildren: () =>
            import('${packageName(DETAIL_PAGE)}').then(
              (module) => module.ProductsProductDetailPageModule
            ),
        },
        { path: '**', redirectTo: '' },
      ],
      { initialNavigation: 'enabledBlocking' }
    ),
  ],
  bootstrap: [AppComponent],
})
export class AppModule {}
`;

const APP_COMPONENT = `import { Component } from '@angular/core';

@Component({
  selector: 'shop-root',
  template: '<router-outlet></router-outlet>',
  standalone: false,
})
export class AppComponent {}
`;

const APP_MAIN = `import 'zone.js';
import '@angular/compiler';
import { platformBrowser } from '@angular/platform-browser';

import { AppModule } from './app/app.module';

platformBrowser()
  .bootstrapModule(AppModule)
  .catch((error: unknown) => console.error(error));
`;

/**
 * Every file of the workspace, by path. `yarnVersion` is what `packageManager` pins, `nxVersion`
 * the Nx its packages are pinned to.
 */
function angularWorkspaceFiles(yarnVersion: string, nxVersion: string): Record<string, string> {
  const angular = Object.fromEntries(
    ['common', 'compiler', 'core', 'platform-browser', 'router'].map((name) => [`@angular/${name}`, ANGULAR_VERSION]),
  );
  return {
    'package.json': json({
      name: `${SCOPE}/source`,
      version: '0.0.0',
      private: true,
      license: 'MIT',
      workspaces: ['apps/*', 'libs/shared/*/*', 'libs/products/*'],
      dependencies: { ...angular, rxjs: '~7.8.0', tslib: '^2.3.0', 'zone.js': '~0.15.0' },
      devDependencies: {
        '@nx/devkit': nxVersion,
        '@nx/js': nxVersion,
        nx: nxVersion,
        typescript: '~5.9.3',
      },
      packageManager: `yarn@${yarnVersion}`,
    }),
    '.yarnrc.yml': 'nodeLinker: node-modules\n',
    // The lock file makes the folder a project of its own: without one, Yarn takes it for a part of a
    // project in a parent folder that has a package.json (the temporary folder may).
    'yarn.lock': '',
    '.gitignore': ['node_modules', 'dist', 'out-tsc', '.nx/cache', '.nx/workspace-data', '.yarn/*', '!.yarn/releases', ''].join('\n'),
    'nx.json': json({
      $schema: './node_modules/nx/schemas/nx-schema.json',
      defaultBase: 'main',
      namedInputs: {
        default: ['{projectRoot}/**/*', 'sharedGlobals'],
        production: ['default', '!{projectRoot}/**/*.spec.ts'],
        sharedGlobals: [],
      },
      plugins: [{ plugin: '@nx/js/typescript', options: { typecheck: { targetName: 'typecheck' }, build: false } }],
    }),
    'tsconfig.base.json': json({
      compilerOptions: {
        composite: true,
        declaration: true,
        declarationMap: true,
        emitDeclarationOnly: true,
        experimentalDecorators: true,
        importHelpers: true,
        isolatedModules: true,
        lib: ['es2022', 'dom'],
        module: 'preserve',
        moduleResolution: 'bundler',
        noFallthroughCasesInSwitch: true,
        noImplicitOverride: true,
        noImplicitReturns: true,
        skipLibCheck: true,
        strict: true,
        target: 'es2022',
      },
    }),
    'tsconfig.json': json({
      extends: './tsconfig.base.json',
      compileOnSave: false,
      files: [],
      references: PROJECTS.map((project) => ({ path: `./${project.root}` })),
    }),
    ...Object.assign({}, ...PROJECTS.map(projectFiles)),
    'libs/shared/product/types/src/index.ts': "export * from './lib/product';\n",
    'libs/shared/product/types/src/lib/product.ts': TYPES_SOURCE,
    'libs/shared/product/state/src/index.ts': "export * from './lib/product.store';\n",
    'libs/shared/product/state/src/lib/product.store.ts': STATE_SOURCE,
    'libs/products/product-detail-page/src/index.ts': "export * from './lib/products-product-detail-page.module';\n",
    'libs/products/product-detail-page/src/lib/products-product-detail-page.module.ts': DETAIL_MODULE,
    'libs/products/product-detail-page/src/lib/product-detail-page/product-detail-page.component.ts': DETAIL_COMPONENT,
    'libs/products/product-detail-page/src/lib/product-detail-page/product-detail-page.component.html': DETAIL_TEMPLATE,
    'apps/shop/src/main.ts': APP_MAIN,
    'apps/shop/src/app/app.component.ts': APP_COMPONENT,
    [APP_MODULE]: APP_MODULE_SOURCE,
  };
}

/**
 * What Yarn and corepack need in the workspace under test: corepack fetches Yarn, and Yarn every
 * package, from the local registry (which proxies the npm registry). Both keep their downloads in
 * `home`, a folder of the suite's: Yarn's global metadata cache is not kept per registry, so
 * packages a former run's registry listed would be fetched from its port, long closed.
 */
function yarnEnv(root: string, home: string): NodeJS.ProcessEnv {
  const registry = requireEnv('FANOUT_E2E_REGISTRY');
  return {
    ...e2eEnv(),
    NX_CACHE_DIRECTORY: join(root, '.nx', 'cache'),
    COREPACK_HOME: join(home, 'corepack'),
    YARN_GLOBAL_FOLDER: join(home, 'yarn'),
    COREPACK_NPM_REGISTRY: registry,
    COREPACK_ENABLE_DOWNLOAD_PROMPT: '0',
    YARN_NPM_REGISTRY_SERVER: registry,
    YARN_UNSAFE_HTTP_WHITELIST: '127.0.0.1',
    // The fanout under test was published minutes ago, and Yarn holds back versions less than a day old
    // (npmMinimalAgeGate) unless they are preapproved, as a workspace that takes each release at once does.
    YARN_NPM_PREAPPROVED_PACKAGES: 'fanout',
    // Yarn turns on --immutable when it sees CI: the generators here add workspace packages, and the lock file with them.
    YARN_ENABLE_IMMUTABLE_INSTALLS: 'false',
    YARN_ENABLE_TELEMETRY: '0',
    CYPRESS_INSTALL_BINARY: '0',
  };
}

/**
 * Writes the workspace in a new temporary folder, installs it with `corepack yarn install` and
 * commits it. The folder also holds corepack's and Yarn's downloads.
 */
export async function createAngularWorkspace(suite: string): Promise<TestWorkspace> {
  if (ANGULAR_NX_VERSION === nxVersion)
    throw new Error(`The Angular workspace must run an Nx other than ${nxVersion}, which fanout is built with.`);
  const parent = mkdtempSync(join(tmpdir(), `fanout-e2e-${suite}-`));
  const root = join(parent, 'ws');
  const workspace = new TestWorkspace(root, yarnEnv(root, parent));
  try {
    await runCommand('corepack', ['--version'], { cwd: parent, env: workspace.env });
  } catch (error) {
    rmSync(parent, { recursive: true, force: true });
    throw new Error(
      `corepack, which runs the workspace's Yarn, did not start (${(error as Error).message.split('\n')[0]}). ` +
        'Node.js 16.9 to 24 ship it; elsewhere run "npm install -g corepack".',
    );
  }
  for (const [path, content] of Object.entries(angularWorkspaceFiles(YARN_VERSION, ANGULAR_NX_VERSION))) workspace.writeFile(path, content);
  await workspace.run('corepack', ['yarn', 'install'], INSTALLING);
  await workspace.commitEverything('shop: products, their state, the product detail page and the app');
  return workspace;
}
