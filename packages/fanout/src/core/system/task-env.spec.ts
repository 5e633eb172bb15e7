import { mkdirSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { taskEnvironment } from './task-env';

/**
 * A batch's session gets the environment Nx gives a task in a process of its own,
 * computed by the installed Nx: the task's .env files loaded.
 */
describe('taskEnvironment', () => {
  // Nx reads .env files relative to its workspace root: this repository, where tmp/ is ignored.
  const projectRoot = `tmp/task-env-${process.pid}`;
  const folder = join(__dirname, '..', '..', '..', '..', '..', projectRoot);
  const task = { id: 'orders:fanout', target: { project: 'orders', target: 'fanout' }, projectRoot };
  const projectGraph = {
    nodes: { orders: { name: 'orders', type: 'lib', data: { root: projectRoot, targets: { fanout: {} } } } },
    dependencies: {},
  };

  beforeAll(() => {
    mkdirSync(folder, { recursive: true });
    writeFileSync(join(folder, '.env'), 'FANOUT_TASK_ENV_PROJECT=from the project\nFANOUT_TASK_ENV_BOTH=project\n');
    writeFileSync(join(folder, '.env.fanout'), 'FANOUT_TASK_ENV_TARGET=from the target\nFANOUT_TASK_ENV_BOTH=target\n');
  });

  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it("loads the task's .env files with the installed Nx's own code, the target's before the project's", () => {
    const saved = process.env['NX_LOAD_DOT_ENV_FILES'];
    process.env['NX_LOAD_DOT_ENV_FILES'] = 'true';
    try {
      const result = taskEnvironment({ task, projectGraph });
      expect(result.env).toBeDefined();
      expect(result.env?.['FANOUT_TASK_ENV_PROJECT']).toBe('from the project');
      expect(result.env?.['FANOUT_TASK_ENV_TARGET']).toBe('from the target');
      // Nx loads .env.<target> first, and a file loaded earlier wins.
      expect(result.env?.['FANOUT_TASK_ENV_BOTH']).toBe('target');
      // The rest of the environment is the process's.
      expect(result.env?.['PATH']).toBe(process.env['PATH']);
      expect(process.env['FANOUT_TASK_ENV_PROJECT']).toBeUndefined();
    } finally {
      if (saved === undefined) delete process.env['NX_LOAD_DOT_ENV_FILES'];
      else process.env['NX_LOAD_DOT_ENV_FILES'] = saved;
    }
  });

  it('says why when the installed Nx has no such function, and gives no environment', () => {
    expect(taskEnvironment({ task, projectGraph }, () => undefined)).toEqual({
      env: undefined,
      why: "this Nx has no getTaskSpecificEnv: the task's own .env files are not loaded",
    });
  });

  it('says why when Nx fails to load them', () => {
    const result = taskEnvironment({ task, projectGraph }, () => () => {
      throw new Error('bad .env');
    });
    expect(result).toEqual({ env: undefined, why: "the task's .env files could not be loaded: bad .env" });
  });
});
