import { readFileSync } from 'fs';
import { relative } from 'path';

/** The Nx majors fanout supports. */
const SUPPORTED_NX_MAJORS: readonly number[] = [21, 22, 23];

/**
 * package.json's peer range for `nx`, `@nx/devkit` and `@nx/js`. `-0` lets in the
 * prereleases of each major (`23.0.0-rc.4`), which a plain `>=21.0.0 <24.0.0` leaves
 * out: the package manager would then nest a second Nx inside fanout.
 */
export const SUPPORTED_NX_RANGE = SUPPORTED_NX_MAJORS.map((major) => `^${major}.0.0-0`).join(' || ');

export interface InstalledNx {
  version: string;
  /** Its package.json. */
  manifest: string;
}

/** The nx the workspace runs: the one its root resolves, else the one fanout resolves. Undefined when neither has one. */
export function installedNx(workspaceRoot: string): InstalledNx | undefined {
  try {
    const manifest = require.resolve('nx/package.json', { paths: [workspaceRoot, __dirname] });
    const version: unknown = JSON.parse(readFileSync(manifest, 'utf-8')).version;
    return typeof version === 'string' ? { version, manifest } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What to tell someone whose Nx fanout does not support, or undefined for a supported
 * one. Any version of a supported major is supported, a prerelease of a later minor
 * (`23.1.0-beta.2`) included.
 */
export function unsupportedNxMessage(nx: InstalledNx, workspaceRoot: string): string | undefined {
  const major = Number(/^(\d+)\./.exec(nx.version)?.[1]);
  if (SUPPORTED_NX_MAJORS.includes(major)) return undefined;
  const [oldest, newest] = [SUPPORTED_NX_MAJORS[0], SUPPORTED_NX_MAJORS[SUPPORTED_NX_MAJORS.length - 1]];
  const where = relative(workspaceRoot, nx.manifest) || nx.manifest;
  return (
    `fanout supports Nx ${oldest} to ${newest} (${SUPPORTED_NX_RANGE}), but this workspace runs nx ${nx.version} (${where}). ` +
    `Its targets and generators may fail. Install nx, @nx/devkit and @nx/js at one version from ${oldest} to ${newest}` +
    (major > newest ? `, or a fanout release that supports Nx ${major}.` : '.')
  );
}

let checked = false;

/** Warns once per process, whatever the number of workspaces and graph computations, when the workspace's Nx is not supported. */
export function warnOnceIfUnsupportedNx(workspaceRoot: string, warn: (message: string) => void): void {
  if (checked) return;
  checked = true;
  const nx = installedNx(workspaceRoot);
  const message = nx && unsupportedNxMessage(nx, workspaceRoot);
  if (message) warn(message);
}
