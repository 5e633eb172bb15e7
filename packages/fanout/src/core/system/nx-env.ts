/**
 * Variables the outer Nx task sets for the process it runs (fanout itself), which
 * would confuse an nx started from inside it: they name the outer task, its
 * workspace root and how its output is collected. The user's own settings stay.
 */
const OUTER_TASK_VARIABLE =
  /^NX_(TASK_|CLI_SET|LOAD_DOT_ENV_FILES|WORKSPACE_ROOT|TERMINAL|STREAM_OUTPUT|PREFIX_OUTPUT|FORKED_TASK_EXECUTOR|SET_CLI)/;

/** `env` without the outer Nx task's variables. */
export function withoutOuterTask(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const kept: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) if (!OUTER_TASK_VARIABLE.test(key)) kept[key] = value;
  return kept;
}
