import type { SandboxDenial } from './sandbox';

/**
 * How a session's sandbox denials read in its log and in the report. Its own module: the report
 * needs these lines, not the sandbox's machinery.
 */

/** Denials for people: "network access to host:port, file access to /path". */
export function describeDenials(denials: readonly SandboxDenial[]): string {
  return denials.map((denial) => `${denial.kind === 'network' ? 'network access to' : 'file access to'} ${denial.target}`).join(', ');
}

/** One line for the report: whether the agent ran sandboxed, and what was denied. */
export function sandboxLine(record: { on: boolean; mode: string; denials?: readonly SandboxDenial[] } | undefined): string | undefined {
  if (!record) return undefined;
  if (!record.on) return `sandbox: off (${record.mode === 'off' ? 'sandbox: off' : 'not available here'})`;
  const denials = record.denials ?? [];
  return `sandbox: on${denials.length > 0 ? `, denied ${describeDenials(denials)}` : ', nothing denied'}`;
}
