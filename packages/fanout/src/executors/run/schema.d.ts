export interface RunExecutorSchema {
  agent?: string;
  command?: string;
  /** The model for agents that take one, over agents.<name>.model. */
  model?: string;
  timeout?: string;
  /** The project's targets the session must pass in its worktree before it lands; [] for none. Set by the plugin from fanout.md and the plugin options. */
  gate?: string[] | string;
  /** Repair rounds the agent gets when the gate or the checks fail. Set by the plugin from fanout.md and the plugin options. */
  repairs?: number;
  /** The agents' sandbox: auto (on where it can run), on (refuse without it) or off; over fanout.md's and the plugin option's. */
  sandbox?: 'auto' | 'on' | 'off';
  /** The run's budget, over the plugin option budget: USD (5, "$5"), tokens ("2M tokens") or both (docs/cost.md). Checked into a Budget. */
  budget?: number | string | import('../../core/budget/ledger').Budget;
  quiet?: boolean;
  /** Set by the plugin: fanout's version, part of the task's cache key. */
  pluginVersion?: string;
  /** Discard the kept worktree, branch and session files of earlier sessions of the task first. */
  fresh?: boolean;
  /** Set by the plugin: the configured agents' options as they enter the cache key (env names only). */
  agents?: Record<string, Record<string, unknown>>;
}
