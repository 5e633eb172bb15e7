import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { syntaxError } from '../landing/syntax';
import { wireLikeReference } from './pattern-wiring';

describe('wireLikeReference', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fanout-wire-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const wire = (name: string, source: string, from: string, to: string) => {
    const file = join(dir, name);
    writeFileSync(file, source);
    const changed = wireLikeReference(file, from, to);
    return { changed, text: readFileSync(file, 'utf-8') };
  };

  it('copies a one-line entry and its import as lines, after the reference’s', () => {
    const { text } = wire(
      'pages.ts',
      "import { settings } from '@ws/settings';\n\nexport const pages = [\n  settings,\n];\n",
      'settings',
      'dashboard',
    );
    expect(text).toBe(
      "import { settings } from '@ws/settings';\nimport { dashboard } from '@ws/dashboard';\n\nexport const pages = [\n  settings,\n  dashboard,\n];\n",
    );
  });

  it('copies a lazy route that spans several lines whole, with a comma between, and the result parses', () => {
    const routes = `import { Routes } from '@angular/router';

export const appRoutes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'product-detail' },
  {
    path: 'product-detail',
    loadChildren: () =>
      import('@ws/products/product-detail-page').then((m) => m.ProductDetailPageModule),
  },
];
`;
    const { changed, text } = wire('app.routes.ts', routes, 'product-detail', 'product-reviews');
    expect(changed).toBe(true);
    expect(text).toBe(`import { Routes } from '@angular/router';

export const appRoutes: Routes = [
  { path: '', pathMatch: 'full', redirectTo: 'product-detail' },
  { path: '', pathMatch: 'full', redirectTo: 'product-reviews' },
  {
    path: 'product-detail',
    loadChildren: () =>
      import('@ws/products/product-detail-page').then((m) => m.ProductDetailPageModule),
  },
  {
    path: 'product-reviews',
    loadChildren: () =>
      import('@ws/products/product-reviews-page').then((m) => m.ProductReviewsPageModule),
  },
];
`);
    expect(syntaxError('app.routes.ts', text)).toBeUndefined();
  });

  it('copies the lazy route of an NgModule whole, not the imports or the forRoot call around it', () => {
    const module = `@NgModule({
  declarations: [AppComponent],
  imports: [
    BrowserModule,
    RouterModule.forRoot(
      [
        {
          path: 'product',
          loadChildren: () =>
            import('@shop/products-product-detail-page').then(
              (module) => module.ProductsProductDetailPageModule
            ),
        },
        { path: '**', redirectTo: '' },
      ],
      { initialNavigation: 'enabledBlocking' }
    ),
  ],
})
export class AppModule {}
`;
    const { text } = wire('app.module.ts', module, 'product-detail', 'product-reviews');
    const route = (subject: string, Subject: string) => `        {
          path: 'product',
          loadChildren: () =>
            import('@shop/products-${subject}-page').then(
              (module) => module.Products${Subject}PageModule
            ),
        },
`;
    expect(text).toBe(
      module.replace(
        route('product-detail', 'ProductDetail'),
        route('product-detail', 'ProductDetail') + route('product-reviews', 'ProductReviews'),
      ),
    );
    expect(syntaxError('app.module.ts', text)).toBeUndefined();
  });

  it('copies a route with children whole when the route itself names the reference, and a child route when only it does', () => {
    const routes = `export const routes = [
  {
    path: 'settings',
    children: [
      {
        path: '',
        loadChildren: () => import('./settings'),
      },
    ],
  },
  {
    path: 'account',
    children: [
      {
        path: 'settings',
        loadChildren: () => import('./settings'),
      },
    ],
  },
];
`;
    const { text } = wire('routes.ts', routes, 'settings', 'dashboard');
    expect(text).toBe(`export const routes = [
  {
    path: 'settings',
    children: [
      {
        path: '',
        loadChildren: () => import('./settings'),
      },
    ],
  },
  {
    path: 'dashboard',
    children: [
      {
        path: '',
        loadChildren: () => import('./dashboard'),
      },
    ],
  },
  {
    path: 'account',
    children: [
      {
        path: 'settings',
        loadChildren: () => import('./settings'),
      },
      {
        path: 'dashboard',
        loadChildren: () => import('./dashboard'),
      },
    ],
  },
];
`);
    expect(syntaxError('routes.ts', text)).toBeUndefined();
  });

  it('copies an entry without a trailing comma, and a multi-line entry of a map', () => {
    const { text } = wire(
      'menu.ts',
      "export const menu = {\n  users: {\n    title: 'Users',\n  }\n};\nexport const list = [{\n  id: 'users' }];\n",
      'users',
      'orders',
    );
    expect(text).toBe(
      "export const menu = {\n  users: {\n    title: 'Users',\n  },\n  orders: {\n    title: 'Orders',\n  }\n};\nexport const list = [{\n  id: 'users' },\n{\n  id: 'orders' }];\n",
    );
    expect(syntaxError('menu.ts', text)).toBeUndefined();
  });

  it('changes nothing when the task is already registered, on one line or several', () => {
    const source = "export const routes = [\n  {\n    path: 'users',\n  },\n  {\n    path: 'orders',\n  },\n];\n";
    expect(wire('routes.ts', source, 'users', 'orders')).toEqual({ changed: false, text: source });
  });
});
