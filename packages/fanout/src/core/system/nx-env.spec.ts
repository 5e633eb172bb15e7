import { withoutOuterTask } from './nx-env';

describe('withoutOuterTask', () => {
  it("drops what the outer Nx task set for its process, and keeps the user's own settings", () => {
    const env = withoutOuterTask({
      PATH: '/usr/bin',
      NX_TASK_TARGET_PROJECT: 'orders',
      NX_TASK_TARGET_TARGET: 'fanout',
      NX_TASK_HASH: '123',
      NX_CLI_SET: 'true',
      NX_SET_CLI: 'true',
      NX_LOAD_DOT_ENV_FILES: 'true',
      NX_WORKSPACE_ROOT: '/ws',
      NX_WORKSPACE_ROOT_PATH: '/ws',
      NX_TERMINAL_OUTPUT_PATH: '/ws/.nx/cache/terminalOutputs/123',
      NX_TERMINAL_CAPTURE_STDERR: 'true',
      NX_STREAM_OUTPUT: 'true',
      NX_PREFIX_OUTPUT: 'true',
      NX_FORKED_TASK_EXECUTOR: 'true',
      NX_VERBOSE_LOGGING: 'true',
      NX_NO_CLOUD: 'true',
    });
    expect(env).toEqual({ PATH: '/usr/bin', NX_VERBOSE_LOGGING: 'true', NX_NO_CLOUD: 'true' });
  });
});
