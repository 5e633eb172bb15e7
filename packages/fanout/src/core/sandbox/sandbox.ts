import type { ChildProcess } from 'child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { isWithin, type SandboxPolicy } from './policy';
import { startSandboxRunner, usableRunner, type SandboxRunner } from './sandbox-runner';

export interface SandboxDenial {
  kind: 'network' | 'filesystem';
  /** `host:port` for the network, a path for the filesystem. What the sandboxed process asked for: data, not trusted. */
  target: string;
}

export interface SandboxedCommand {
  /** The runner, told what to run: the process whose group holds the command, and whose stdio is the command's. */
  child: ChildProcess;
  /** What the sandbox denied so far (read from the runner's log). */
  denials(): SandboxDenial[];
  /** Removes the runner's control folder; call after the process has ended and its denials are read. */
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
 * Runs `command args` under `policy`, in `cwd`: in `runner` when one was started ahead for it (see
 * SandboxRunner), else in a runner started now. `env` is the agent's environment, already narrowed (see
 * sandboxEnv); the policy's own variables are laid over it.
 */
export function sandboxCommand(
  policy: SandboxPolicy,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; runner?: SandboxRunner },
): SandboxedCommand {
  const runner = usableRunner(options.runner, options.env) ?? startSandboxRunner(options.env);
  // The control folder holds the denial log: outside every folder the command may write, so it can
  // neither forge nor erase what the sandbox saw.
  const writable = policy.allowWrite.find((folder) => isWithin(runner.control, folder));
  if (writable) {
    runner.close();
    throw new Error(
      `Sandbox: the temp folder ${tmpdir()} is inside ${writable}, which the sandboxed agent may write, so its ` +
        `denials could not be trusted. Set TMPDIR to a folder outside the agent's worktree and state folders.`,
    );
  }
  mkdirSync(policy.privateTemp, { recursive: true });
  runner.send({
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
  const denialLog = join(runner.control, 'denials.log');
  return {
    child: runner.child,
    denials: () => (existsSync(denialLog) ? parseDenials(readFileSync(denialLog, 'utf8')) : []),
    cleanup: () => rmSync(runner.control, { recursive: true, force: true }),
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
