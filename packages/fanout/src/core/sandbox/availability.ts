import { spawnSync } from 'child_process';
import { accessSync, constants, existsSync } from 'fs';
import { delimiter, join } from 'path';

const SANDBOX_LIBRARY = '@anthropic-ai/sandbox-runtime';
const LINUX_INSTALL = 'apt-get install -y bubblewrap socat ripgrep';
const MACOS_INSTALL = 'brew install ripgrep';

/** What the sandbox needs, looked up: injected in tests to simulate a machine without it. */
export interface AvailabilityLookups {
  platform: NodeJS.Platform;
  /** Whether an executable of this name is on PATH. */
  onPath(command: string): boolean;
  /** Linux: null when bubblewrap can make its namespaces here, else why not. */
  namespacesProblem(): string | null;
  /** Whether the sandbox library can be loaded from fanout's install. */
  libraryResolvable(): boolean;
}

export interface SandboxAvailability {
  available: boolean;
  platform: NodeJS.Platform;
  /** What is missing, for people. */
  missing: string[];
  /** The command that installs what is missing, when one does. */
  install?: string;
}

export function sandboxAvailability(lookups: AvailabilityLookups): SandboxAvailability {
  const { platform } = lookups;
  const missing: string[] = [];
  let install: string | undefined;

  if (platform === 'linux') {
    const tools = [
      { command: 'bwrap', name: 'bubblewrap (bwrap)' },
      { command: 'socat', name: 'socat' },
      { command: 'rg', name: 'ripgrep (rg)' },
    ].filter((tool) => !lookups.onPath(tool.command));
    missing.push(...tools.map((tool) => `${tool.name} on PATH`));
    if (tools.length > 0) {
      // Fedora and Arch name the packages the same: dnf install / pacman -S bubblewrap socat ripgrep.
      install = `${LINUX_INSTALL} (Debian, Ubuntu; dnf install or pacman -S the same packages elsewhere)`;
    } else {
      const problem = lookups.namespacesProblem();
      if (problem) {
        missing.push(
          `user namespaces for bubblewrap (${problem}); on Ubuntu 24.04 and later: ` +
            `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`,
        );
      }
    }
  } else if (platform === 'darwin') {
    // macOS has sandbox-exec built in; the library needs ripgrep for its deny-path scan.
    if (!lookups.onPath('sandbox-exec')) missing.push('sandbox-exec (part of macOS)');
    if (!lookups.onPath('rg')) {
      missing.push('ripgrep (rg) on PATH');
      install = MACOS_INSTALL;
    }
  } else {
    missing.push(`a supported OS: fanout's sandbox runs on Linux and macOS, not ${platform}`);
  }

  if (!lookups.libraryResolvable()) {
    missing.push(`the ${SANDBOX_LIBRARY} package (a dependency of fanout: reinstall fanout)`);
  }
  return { available: missing.length === 0, platform, missing, install };
}

/** Whether the sandbox can run here: looked up once per process. */
export function sandboxAvailabilityHere(): SandboxAvailability {
  here ??= sandboxAvailability(machineLookups());
  return here;
}
let here: SandboxAvailability | undefined;

/** One line for a warning or a refusal: what is missing and how to install it. */
export function describeUnavailable(availability: SandboxAvailability): string {
  const install = availability.install ? ` Install it with: ${availability.install}` : '';
  return `The sandbox cannot run here: missing ${availability.missing.join('; ')}.${install}`;
}

export function machineLookups(env: NodeJS.ProcessEnv = process.env): AvailabilityLookups {
  return {
    platform: process.platform,
    onPath: (command) => onPath(command, env.PATH ?? ''),
    namespacesProblem,
    libraryResolvable: () => {
      try {
        require.resolve(SANDBOX_LIBRARY);
        return true;
      } catch {
        return false;
      }
    },
  };
}

function onPath(command: string, path: string): boolean {
  return path
    .split(delimiter)
    .filter(Boolean)
    .some((folder) => {
      const candidate = join(folder, command);
      try {
        accessSync(candidate, constants.X_OK);
        return existsSync(candidate);
      } catch {
        return false;
      }
    });
}

/** The namespaces the library's bubblewrap call makes: user, pid and network. */
function namespacesProblem(): string | null {
  const probe = spawnSync(
    'bwrap',
    ['--ro-bind', '/', '/', '--dev', '/dev', '--unshare-user', '--unshare-pid', '--unshare-net', '--die-with-parent', 'true'],
    { encoding: 'utf8', timeout: 10_000 },
  );
  if (probe.error) return probe.error.message;
  if (probe.status === 0) return null;
  return probe.stderr.trim().split('\n')[0] || `bwrap exited with ${probe.status ?? probe.signal}`;
}
