import { findIndependenceViolations, reachableFrom, type Adjacency, type FanoutTaskRef } from './independence';

const graph = (edges: Record<string, string[]>): Adjacency => new Map(Object.entries(edges));

const task = (project: string, scope: string[] = [`libs/${project}/src`]): FanoutTaskRef => ({
  id: `${project}:fanout`,
  project,
  scope,
});

describe('reachableFrom', () => {
  it('maps every node a source reaches to the node it was first reached from', () => {
    const reach = reachableFrom(graph({ a: ['b', 'c'], b: ['d'], c: ['d'], d: ['e'] }), ['a']);
    expect(reach.get('a')).toEqual(
      new Map([
        ['b', 'a'],
        ['c', 'a'],
        ['d', 'b'],
        ['e', 'd'],
      ]),
    );
  });

  it('records the parent on a shortest path (breadth first)', () => {
    const reach = reachableFrom(graph({ a: ['b', 'd'], b: ['c'], c: ['d'] }), ['a']);
    expect(reach.get('a')?.get('d')).toBe('a');
  });

  it('does not count the source as reaching itself, even through a cycle', () => {
    const reach = reachableFrom(graph({ a: ['b'], b: ['a'] }), ['a']);
    expect(reach.get('a')).toEqual(new Map([['b', 'a']]));
  });

  it('gives an empty map for a source with no edges or not in the graph', () => {
    const reach = reachableFrom(graph({ a: [] }), ['a', 'missing']);
    expect(reach.get('a')?.size).toBe(0);
    expect(reach.get('missing')?.size).toBe(0);
  });

  it('answers for each source separately', () => {
    const reach = reachableFrom(graph({ a: ['b'], b: ['c'], x: ['y'] }), ['a', 'x']);
    expect([...(reach.get('a')?.keys() ?? [])]).toEqual(['b', 'c']);
    expect([...(reach.get('x')?.keys() ?? [])]).toEqual(['y']);
  });
});

describe('findIndependenceViolations', () => {
  const noTaskEdges = graph({});

  it('accepts independent tasks that share a dependency (the contracts)', () => {
    const projects = graph({ orders: ['contracts'], products: ['contracts'], users: ['contracts'], contracts: [] });
    expect(findIndependenceViolations([task('orders'), task('products'), task('users')], projects, noTaskEdges)).toEqual([]);
  });

  it('reports a transitive dependency with its path and both project names', () => {
    const projects = graph({
      orders: ['contracts', 'shared-util'],
      'shared-util': ['products'],
      products: ['contracts'],
      contracts: [],
    });
    const violations = findIndependenceViolations([task('orders'), task('products')], projects, noTaskEdges);
    expect(violations).toHaveLength(1);
    const [violation] = violations;
    expect(violation).toMatchObject({
      kind: 'dependency',
      first: 'orders',
      second: 'products',
      path: ['orders', 'shared-util', 'products'],
    });
    expect(violation.message).toContain('"orders" and "products"');
    expect(violation.message).toContain('orders → shared-util → products');
  });

  it('detects the dependency in the reverse direction of the task order', () => {
    // Tasks are compared in project-name order: "alpha" first, yet it is "zeta" that depends on "alpha".
    const projects = graph({ zeta: ['alpha'], alpha: [] });
    const violations = findIndependenceViolations([task('alpha'), task('zeta')], projects, noTaskEdges);
    expect(violations).toEqual([expect.objectContaining({ kind: 'dependency', first: 'zeta', second: 'alpha', path: ['zeta', 'alpha'] })]);
  });

  it('reports a pair that depend on each other once', () => {
    const projects = graph({ a: ['b'], b: ['a'] });
    expect(findIndependenceViolations([task('a'), task('b')], projects, noTaskEdges)).toHaveLength(1);
  });

  describe('a dependency cycle among tasks', () => {
    const projects = graph({ orders: ['shared'], shared: ['products'], products: ['orders'] });

    it('is reported with the whole cycle and what to do', () => {
      const violations = findIndependenceViolations([task('orders'), task('products')], projects, noTaskEdges);
      expect(violations).toEqual([
        expect.objectContaining({ kind: 'cycle', first: 'orders', second: 'products', path: ['orders', 'shared', 'products', 'orders'] }),
      ]);
      expect(violations[0].message).toBe(
        '"orders" and "products" depend on each other (orders → shared → products → orders), so neither task can wait ' +
          "for the other's finished result. Break the cycle (nx graph --focus=orders shows it), or fan out only one of " +
          'them (nx run-many -t fanout --exclude=products).',
      );
    });

    it('is reported even when the task graph orders the two (Nx with --nxIgnoreCycles drops one edge)', () => {
      const ordered = graph({ 'products:fanout': ['orders:fanout'] });
      expect(findIndependenceViolations([task('orders'), task('products')], projects, ordered)).toEqual([
        expect.objectContaining({ kind: 'cycle', first: 'orders', second: 'products' }),
      ]);
    });

    it('is not reported for a cycle that only one task is part of', () => {
      const loop = graph({ orders: ['shared'], shared: ['orders'], products: [] });
      expect(findIndependenceViolations([task('orders'), task('products')], loop, noTaskEdges)).toEqual([]);
    });
  });

  it('accepts dependent projects whose tasks are ordered in the task graph', () => {
    const projects = graph({ orders: ['products'], products: [] });
    const tasks = graph({ 'orders:fanout': ['products:fanout'] });
    expect(findIndependenceViolations([task('orders'), task('products')], projects, tasks)).toEqual([]);
  });

  it('accepts tasks ordered transitively, through a task that is not a fanout task', () => {
    const projects = graph({ orders: ['shared-util'], 'shared-util': ['products'], products: [] });
    const tasks = graph({ 'orders:fanout': ['shared-util:build'], 'shared-util:build': ['products:fanout'] });
    expect(findIndependenceViolations([task('orders'), task('products')], projects, tasks)).toEqual([]);
  });

  it('still reports a dependency when the task graph orders other tasks only', () => {
    const projects = graph({ orders: ['products'], products: [] });
    const tasks = graph({ 'orders:fanout': ['orders:build'], 'products:fanout': ['products:build'] });
    expect(findIndependenceViolations([task('orders'), task('products')], projects, tasks)).toHaveLength(1);
  });

  it('reports overlapping scopes, naming the paths', () => {
    const violations = findIndependenceViolations([task('a', ['libs/a']), task('b', ['libs/a/src'])], graph({}), noTaskEdges);
    expect(violations).toEqual([expect.objectContaining({ kind: 'scope', first: 'a', second: 'b', overlap: ['libs/a', 'libs/a/src'] })]);
    expect(violations[0].message).toContain('"a" and "b"');
    expect(violations[0].message).toContain('libs/a/src');
  });

  it('reports identical scopes', () => {
    const violations = findIndependenceViolations([task('a', ['libs/x']), task('b', ['libs/x'])], graph({}), noTaskEdges);
    expect(violations).toEqual([expect.objectContaining({ kind: 'scope', overlap: ['libs/x', 'libs/x'] })]);
  });

  it('accepts sibling scopes that share a prefix but not a folder', () => {
    expect(findIndependenceViolations([task('a', ['libs/a']), task('ab', ['libs/ab'])], graph({}), noTaskEdges)).toEqual([]);
  });

  it('accepts overlapping scopes of tasks ordered in the task graph', () => {
    const tasks = graph({ 'b:fanout': ['a:fanout'] });
    expect(findIndependenceViolations([task('a', ['libs/a']), task('b', ['libs/a/src'])], graph({}), tasks)).toEqual([]);
  });

  describe('on a large graph', () => {
    // 200 task projects, each heading a chain of 10 projects (2,000 in all) that ends at the contracts.
    const branches = 200;
    const depth = 10;
    const node = (branch: number, level: number) => (level === 0 ? `task-${branch}` : `task-${branch}-dep-${level}`);

    function largeGraph(extra: Record<string, string[]> = {}): Adjacency {
      const edges = new Map<string, string[]>([['contracts', []]]);
      for (let branch = 0; branch < branches; branch++) {
        for (let level = 0; level < depth; level++) {
          edges.set(node(branch, level), [level + 1 < depth ? node(branch, level + 1) : 'contracts']);
        }
      }
      for (const [from, to] of Object.entries(extra)) edges.set(from, [...(edges.get(from) ?? []), ...to]);
      return edges;
    }
    const tasks = Array.from({ length: branches }, (_, branch) => task(node(branch, 0)));

    it('has 2,000 projects besides the contracts', () => {
      expect(largeGraph().size).toBe(branches * depth + 1);
    });

    it('finds no violation when the chains only meet at the contracts', () => {
      expect(findIndependenceViolations(tasks, largeGraph(), noTaskEdges)).toEqual([]);
    });

    it('finds the one dependency added deep in a chain, with its full path', () => {
      const projects = largeGraph({ [node(57, depth - 1)]: [node(143, 0)] });
      const violations = findIndependenceViolations(tasks, projects, noTaskEdges);
      expect(violations).toHaveLength(1);
      expect(violations[0]).toMatchObject({
        kind: 'dependency',
        first: 'task-57',
        second: 'task-143',
        path: [...Array.from({ length: depth }, (_, level) => node(57, level)), 'task-143'],
      });
    });

    it('reaches the end of a 2,000-node chain', () => {
      const chain = new Map(Array.from({ length: 2000 }, (_, index) => [`n${index}`, index < 1999 ? [`n${index + 1}`] : []]));
      const parents = reachableFrom(chain, ['n0']).get('n0');
      expect(parents?.size).toBe(1999);
      expect(parents?.get('n1999')).toBe('n1998');
    });
  });
});
