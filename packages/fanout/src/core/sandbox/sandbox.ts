import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { isWithin, type SandboxPolicy } from './policy';

/** The script that runs one command inside the library (see its header for why a process of its own). */
export const SANDBOX_RUNNER = join(__dirname, 'runner.mjs');

export interface SandboxDenial {
  kind: 'network' | 'filesystem';
  /** `host:port` for the network, a path for the filesystem. What the sandboxed process asked for: data, not trusted. */
  target: string;
}

export interface SandboxedCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** What the sandbox denied so far (read from the runner's log). */
  denials(): SandboxDenial[];
  /** Removes the settings and the denial log; call after the process has ended and its denials are read. */
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
 * argv and environment that run `command args` under `policy`. `env` is the agent's environment, already
 * narrowed (see sandboxEnv); the policy's own variables are laid over it.
 */
export function sandboxCommand(policy: SandboxPolicy, command: string, args: string[], env: NodeJS.ProcessEnv): SandboxedCommand {
  // The settings and the denial log stay outside every folder the command may write, so it can neither
  // forge nor erase what the sandbox saw.
  const control = mkdtempSync(join(tmpdir(), 'fanout-sandbox-'));
  const writable = policy.allowWrite.find((folder) => isWithin(control, folder));
  if (writable) {
    rmSync(control, { recursive: true, force: true });
    throw new Error(
      `Sandbox: the temp folder ${tmpdir()} is inside ${writable}, which the sandboxed agent may write, so its ` +
        `denials could not be trusted. Set TMPDIR to a folder outside the agent's worktree and state folders.`,
    );
  }
  const settings = join(control, 'settings.json');
  const denialLog = join(control, 'denials.log');
  // The runner takes insideEnv off before it hands the rest to the library.
  writeFileSync(settings, JSON.stringify({ ...sandboxSettings(policy), insideEnv: policy.insideEnv }, null, 2));
  mkdirSync(policy.privateTemp, { recursive: true });

  return {
    command: process.execPath,
    args: [SANDBOX_RUNNER, settings, denialLog, command, ...args],
    env: {
      ...env,
      ...policy.env,
      // The library sets TMPDIR inside the sandbox to this (to /tmp/claude, shared by every sandbox, without it).
      CLAUDE_CODE_TMPDIR: policy.privateTemp,
    },
    denials: () => (existsSync(denialLog) ? parseDenials(readFileSync(denialLog, 'utf8')) : []),
    cleanup: () => rmSync(control, { recursive: true, force: true }),
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
