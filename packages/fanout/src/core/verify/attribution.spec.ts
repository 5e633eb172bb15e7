import { attributeFailures, type ProjectGraphData, type SessionTouches } from './attribution';

/** shop → cart → ui, shop → pages; admin → ui; docs alone. */
const GRAPH: ProjectGraphData = {
  nodes: {
    shop: { root: 'apps/shop' },
    admin: { root: 'apps/admin' },
    cart: { root: 'libs/cart' },
    pages: { root: 'libs/pages' },
    ui: { root: 'libs/ui' },
    docs: { root: 'libs/docs' },
    'feature-a': { root: 'libs/feature-a' },
    'feature-b': { root: 'libs/feature-b' },
    workspace: { root: '.' },
  },
  dependencies: {
    shop: [{ target: 'cart' }, { target: 'pages' }, { target: 'npm:react' }],
    cart: [{ target: 'ui' }],
    admin: [{ target: 'ui' }],
    'feature-a': [],
    'feature-b': [],
  },
};

const session = (project: string, landed: string[], wired: { path: string; project: string }[] = []): SessionTouches => ({
  project,
  landed,
  wired,
});

const failure = (project: string, output = 'FAIL src/app.spec.tsx\n  ● renders\n') => ({ project, target: 'test', output });

describe('attributeFailures', () => {
  it('blames a session that landed files in the failed project itself', () => {
    const [attribution] = attributeFailures([failure('cart')], GRAPH, [session('s1', ['libs/cart/src/lib/total.ts'])]);
    expect(attribution.task).toBe('cart:test');
    expect(attribution.suspects).toEqual([
      {
        session: 's1',
        reasons: ["landed libs/cart/src/lib/total.ts in cart, the failed task's project"],
        files: ['libs/cart/src/lib/total.ts'],
        named: [],
      },
    ]);
  });

  it('blames a session that landed files in a direct dependency, naming the dependency', () => {
    const [attribution] = attributeFailures([failure('shop')], GRAPH, [session('s1', ['libs/pages/src/index.ts'])]);
    expect(attribution.suspects.map((suspect) => suspect.session)).toEqual(['s1']);
    expect(attribution.suspects[0].reasons).toEqual(['landed libs/pages/src/index.ts in pages, which shop depends on (shop → pages)']);
  });

  it('blames a session that landed files in a transitive dependency, with the path that reaches it', () => {
    const [attribution] = attributeFailures([failure('shop')], GRAPH, [session('s1', ['libs/ui/src/button.tsx'])]);
    expect(attribution.suspects[0].reasons).toEqual(['landed libs/ui/src/button.tsx in ui, which shop depends on (shop → cart → ui)']);
    expect(attribution.how).toContain('shop and the 3 projects it depends on');
  });

  it('blames a session that edited a wired file of the failed project, though none of its own files is in it', () => {
    const [attribution] = attributeFailures([failure('shop')], GRAPH, [
      session('feature-a', ['libs/feature-a/src/page.tsx'], [{ path: 'apps/shop/src/app/pages.tsx', project: 'shop' }]),
    ]);
    expect(attribution.suspects).toEqual([
      expect.objectContaining({
        session: 'feature-a',
        reasons: ["edited apps/shop/src/app/pages.tsx, a wired file of shop, the failed task's project"],
        files: ['apps/shop/src/app/pages.tsx'],
      }),
    ]);
  });

  it('blames no one for a project no session reached, and says so', () => {
    const [attribution] = attributeFailures([failure('docs')], GRAPH, [
      session('s1', ['libs/ui/src/button.tsx']),
      session('s2', ['libs/cart/src/total.ts'], [{ path: 'apps/shop/src/app/pages.tsx', project: 'shop' }]),
    ]);
    expect(attribution.suspects).toEqual([]);
    expect(attribution.how).toBe(
      "no session of the run landed a file in docs and the 0 projects it depends on, nor edited a wired file of them: the failure is not the run's sessions'.",
    );
  });

  it('does not blame a session for what depends on its project (only what the failed project depends on)', () => {
    const [attribution] = attributeFailures([failure('ui')], GRAPH, [session('s1', ['apps/shop/src/main.tsx'])]);
    expect(attribution.suspects).toEqual([]);
  });

  it('keeps several suspects, in the order given (landing order), each with its reasons', () => {
    const [attribution] = attributeFailures([failure('shop')], GRAPH, [
      session('feature-b', [], [{ path: 'apps/shop/src/app/pages.tsx', project: 'shop' }]),
      session('docs-writer', ['libs/docs/src/readme.ts']),
      session(
        'feature-a',
        ['libs/ui/src/a.ts', 'libs/ui/src/b.ts', 'libs/ui/src/c.ts', 'libs/ui/src/d.ts'],
        [{ path: 'apps/shop/src/app/pages.tsx', project: 'shop' }],
      ),
    ]);
    expect(attribution.suspects.map((suspect) => suspect.session)).toEqual(['feature-b', 'feature-a']);
    expect(attribution.suspects[1].reasons).toEqual([
      'landed libs/ui/src/a.ts, libs/ui/src/b.ts, libs/ui/src/c.ts and 1 more in ui, which shop depends on (shop → cart → ui)',
      "edited apps/shop/src/app/pages.tsx, a wired file of shop, the failed task's project",
    ]);
    expect(attribution.cleared).toEqual([]);
    expect(attribution.how).toBe(
      '2 sessions landed files in shop and the 3 projects it depends on or edited their wired files; the failed output names none of their files, so each stays a suspect.',
    );
  });

  it('narrows the suspects to those whose files the failed output names, and says why the others were cleared', () => {
    const output = [
      'FAIL apps/shop/src/app/app.spec.tsx',
      '  ● Cart › total › adds the prices',
      '    TypeError: Cannot read properties of undefined',
      '      at total (/tmp/ws/libs/cart/src/lib/total.ts:4:12)',
      '      at Object.<anonymous> (src/app/app.spec.tsx:9:5)',
    ].join('\n');
    const [attribution] = attributeFailures([failure('shop', output)], GRAPH, [
      session('s-ui', ['libs/ui/src/button.tsx']),
      session('s-cart', ['libs/cart/src/lib/total.ts', 'libs/cart/src/lib/tax.ts']),
    ]);
    expect(attribution.suspects.map((suspect) => suspect.session)).toEqual(['s-cart']);
    expect(attribution.suspects[0].named).toEqual(['libs/cart/src/lib/total.ts']);
    expect(attribution.suspects[0].reasons).toContain('the failed output names libs/cart/src/lib/total.ts');
    expect(attribution.cleared).toEqual([
      {
        session: 's-ui',
        reason:
          "it landed libs/ui/src/button.tsx in ui, which shop depends on (shop → cart → ui), but the failed output names none of its files while it names s-cart's",
      },
    ]);
    expect(attribution.how).toContain('the failed output names files of 1 of them, who stay suspects');
  });

  it('reads a file named relative to its project root (as jest and tsc print them) as named', () => {
    const output = "libs/cart/src/lib/tax.ts(3,7): error TS2322\nsrc/lib/total.ts:4:12 - error TS2339: Property 'x' does not exist";
    const [attribution] = attributeFailures([failure('cart', output)], GRAPH, [
      session('s1', ['libs/cart/src/lib/total.ts']),
      session('s2', ['libs/cart/src/lib/tax.ts']),
      session('s3', ['libs/cart/src/lib/other.ts']),
    ]);
    expect(attribution.suspects.map((suspect) => suspect.session)).toEqual(['s1', 's2']);
    expect(attribution.cleared.map((entry) => entry.session)).toEqual(['s3']);
  });

  it('does not narrow when the output names a bare file name that many projects have', () => {
    const [attribution] = attributeFailures([failure('cart', 'error in index.ts')], GRAPH, [
      session('s1', ['libs/cart/src/index.ts']),
      session('s2', ['libs/ui/src/other.ts']),
    ]);
    expect(attribution.suspects.map((suspect) => suspect.session)).toEqual(['s1', 's2']);
  });

  it('owns a file by the innermost project root, and the root project only what no other project owns', () => {
    const [attribution] = attributeFailures([failure('workspace')], GRAPH, [
      session('s1', ['tools/script.ts']),
      session('s2', ['libs/ui/src/a.ts']),
    ]);
    expect(attribution.suspects.map((suspect) => suspect.session)).toEqual(['s1']);
  });

  it('attributes each failed task on its own', () => {
    const attributions = attributeFailures([failure('admin'), failure('cart')], GRAPH, [
      session('s-ui', ['libs/ui/src/a.ts']),
      session('s-cart', ['libs/cart/src/a.ts']),
    ]);
    expect(attributions.map((entry) => [entry.task, entry.suspects.map((suspect) => suspect.session)])).toEqual([
      ['admin:test', ['s-ui']],
      ['cart:test', ['s-ui', 's-cart']],
    ]);
  });
});
