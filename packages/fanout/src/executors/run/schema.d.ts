export interface RunExecutorSchema {
  agent?: string;
  command?: string;
  /** The model for agents that take one, over agents.<name>.model. */
  model?: string;
  timeout?: string;
  quiet?: boolean;
  /** Set by the plugin: fanout's version, part of the task's cache key. */
  pluginVersion?: string;
  /** Discard the kept worktree, branch and session files of earlier sessions of the task first. */
  fresh?: boolean;
  /** Set by the plugin: the configured agents' options as they enter the cache key (env names only). */
  agents?: Record<string, Record<string, unknown>>;
}
