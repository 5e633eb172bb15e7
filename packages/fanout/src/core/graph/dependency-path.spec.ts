import { dependencyPath } from './dependency-path';

describe('dependencyPath', () => {
  const graph: Record<string, string[]> = {
    page: ['state', 'ui'],
    state: ['types'],
    ui: ['theme'],
    theme: ['types'],
    types: [],
    cycle: ['loop'],
    loop: ['cycle'],
  };
  const dependenciesOf = (project: string) => graph[project] ?? [];

  it('follows dependencies through other projects, shortest chain first', () => {
    expect(dependencyPath('page', (project) => project === 'types', dependenciesOf)).toEqual(['page', 'state', 'types']);
  });

  it('finds a direct dependency as a chain of two', () => {
    expect(dependencyPath('state', (project) => project === 'types', dependenciesOf)).toEqual(['state', 'types']);
  });

  it('is undefined when no chain leads there, cycles included', () => {
    expect(dependencyPath('ui', (project) => project === 'state', dependenciesOf)).toBeUndefined();
    expect(dependencyPath('cycle', (project) => project === 'types', dependenciesOf)).toBeUndefined();
  });

  it('asks for the dependencies of the projects it reaches only, each once', () => {
    const asked: string[] = [];
    dependencyPath(
      'ui',
      (project) => project === 'types',
      (project) => (asked.push(project), dependenciesOf(project)),
    );
    expect(asked).toEqual(['ui', 'theme']);
  });
});
