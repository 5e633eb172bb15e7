import { existsSync, mkdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { isWithin, type SandboxPolicy } from './policy';
import { startSandboxRunner, type RunnerCommand, type SandboxRunner } from './sandbox-runner';

export interface SandboxDenial {
  kind: 'network' | 'filesystem';
  /** `host:port` for the network, a path for the filesystem. What the sandboxed process asked for: data, not trusted. */
  target: string;
}

export interface SandboxedCommand {
  /** The command as a process: its stdio, `kill` (its process group, through the runner), `exit` and `close`. */
  child: RunnerCommand;
  /** What the sandbox denied so far (read from the runner's log). */
  denials(): SandboxDenial[];
  /** Removes its denial log, and ends the runner if it was started for this command alone; call after the command has ended and its denials are read. */
  cleanup(): void;
}

/** The library's settings file for a policy. */
export interface SandboxSettings {
  network: { allowedDomains: string[]; deniedDomains: string[] };
  filesystem: { denyRead: string[]; allowWrite: string[]; denyWrite: string[] };
}

export function sandboxSettings(policy: SandboxPolicy): SandboxSettings {
  return {
    network: { allowedDomains: policy.allowedDomains, deniedDomains: [] },
    filesystem: { denyRead: policy.denyRead, allowWrite: policy.allowWrite, denyWrite: policy.denyWrite },
  };
}

/**
 * Runs `command args` under `policy`, in `cwd`: in `runner` (the session's, see SandboxRunner) when it
 * can take the command now, else in a runner started now for this command alone. `env` is the agent's environment, already narrowed (see
 * sandboxEnv); the policy's own variables are laid over it.
 */
export function sandboxCommand(
  policy: SandboxPolicy,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; runner?: SandboxRunner },
): SandboxedCommand {
  const own = options.runner?.fits(options.env) ? undefined : startSandboxRunner(options.env);
  const runner = own ?? (options.runner as SandboxRunner);
  // The control folder holds the denial log: outside every folder the command may write, so it can
  // neither forge nor erase what the sandbox saw.
  const writable = policy.allowWrite.find((folder) => isWithin(runner.control, folder));
  if (writable) {
    own?.close();
    throw new Error(
      `Sandbox: the temp folder ${tmpdir()} is inside ${writable}, which the sandboxed agent may write, so its ` +
        `denials could not be trusted. Set TMPDIR to a folder outside the agent's worktree and state folders.`,
    );
  }
  mkdirSync(policy.privateTemp, { recursive: true });
  const child = runner.run({
    // The runner takes insideEnv apart from what it gives the library.
    settings: sandboxSettings(policy),
    insideEnv: policy.insideEnv,
    argv: [command, ...args],
    cwd: options.cwd,
    env: {
      ...options.env,
      ...policy.env,
      // The library sets TMPDIR inside the sandbox to this (to /tmp/claude, shared by every sandbox, without it).
      CLAUDE_CODE_TMPDIR: policy.privateTemp,
    },
  });
  const denialLog = runner.denialLog(child);
  return {
    child,
    denials: () => (existsSync(denialLog) ? parseDenials(readFileSync(denialLog, 'utf8')) : []),
    cleanup: () => {
      rmSync(denialLog, { force: true });
      own?.close();
    },
  };
}

/**
 * Denials named in text: the library's violation lines ("deny network-outbound host:port (reason)",
 * "deny openat /path"), and the refusals programs print for a read-only mount ("/path: Read-only file
 * system", "EROFS: read-only file system, open '/path'"). One entry per kind and target, in order.
 */
export function parseDenials(text: string): SandboxDenial[] {
  const found = new Map<string, SandboxDenial>();
  const add = (kind: SandboxDenial['kind'], target: string) => {
    const key = `${kind} ${target}`;
    if (!found.has(key)) found.set(key, { kind, target });
  };
  for (const line of text.split('\n')) {
    const network = /\bdeny network-outbound (\S+)/.exec(line);
    if (network) {
      add('network', network[1]);
      continue;
    }
    const monitored = /\bdeny [a-z0-9_]+ (\/.*?)\s*$/.exec(line);
    if (monitored) {
      add('filesystem', monitored[1]);
      continue;
    }
    const node = /EROFS: read-only file system, [a-z0-9_]+ '([^']+)'/i.exec(line);
    if (node) {
      add('filesystem', node[1]);
      continue;
    }
    const shell = /(\/[^:]*): Read-only file system/.exec(line);
    if (shell) add('filesystem', shell[1]);
  }
  return [...found.values()];
}
