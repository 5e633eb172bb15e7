import { sessionResult } from '../../testing/session-results';
import { latestRun, RUN_GAP_MS } from './runs';

const projects = (results: readonly { project: string }[]) => results.map((result) => result.project);
const gap = RUN_GAP_MS / 1000;

describe('latestRun: the sessions of the newest run', () => {
  it('is every session when they overlap or follow one another closely', () => {
    const results = [sessionResult('a', 0, 10), sessionResult('b', 5, 30), sessionResult('c', 30 + gap, 40 + gap)];
    expect(latestRun(results)).toEqual({ latest: results, earlier: [], earlierRuns: 0 });
  });

  it('leaves out sessions that ended more than the gap before the newest run began, counting their runs', () => {
    const results = [
      sessionResult('first', -7200, -7100),
      sessionResult('second-a', -3600, -3500),
      sessionResult('second-b', -3550, -3400),
      sessionResult('latest-a', 0, 10),
      sessionResult('latest-b', 10, 20),
    ];
    const run = latestRun(results);
    expect(projects(run.latest)).toEqual(['latest-a', 'latest-b']);
    expect(projects(run.earlier)).toEqual(['first', 'second-a', 'second-b']);
    expect(run.earlierRuns).toBe(2);
  });

  it('keeps in the run a long session of it that other sessions started during, and the order the results came in', () => {
    const results = [sessionResult('late', 500, 510), sessionResult('long', 0, 600), sessionResult('old', -1000, -900)];
    const run = latestRun(results);
    expect(projects(run.latest)).toEqual(['late', 'long']);
    expect(projects(run.earlier)).toEqual(['old']);
  });

  it('splits runs a little more than the gap apart', () => {
    const results = [sessionResult('a', 0, 10), sessionResult('b', 10 + gap + 1, 20 + gap)];
    expect(projects(latestRun(results).latest)).toEqual(['b']);
  });

  it('is empty for no sessions', () => {
    expect(latestRun([])).toEqual({ latest: [], earlier: [], earlierRuns: 0 });
  });
});
