import { contractsEntry, moduleExports } from './module-exports';
import type { Finding, SessionCheck, Severity } from './check';
import { contractConformance } from './contract-conformance';
import { hiddenDependencies } from './hidden-dependencies';
import { namingParity } from './naming-parity';
import { portClaims } from './port-claims';
import type { CheckInput } from './check';

/** Every per-session check, run in this order after the scope check and before integration. */
export const CHECKS: readonly SessionCheck[] = [contractConformance, hiddenDependencies, namingParity, portClaims];

/** Severities from the plugin options: `checks: { <name>: 'error' | 'warning' | 'off' }`, `strictNaming`. */
export interface CheckSettings {
  checks?: Record<string, Severity | 'off'>;
  strictNaming?: boolean;
}

/**
 * A check's severity under the plugin options.
 * @public tools/bench/check-sessions.mjs runs the checks from the built package with it.
 */
export function severityOf(check: SessionCheck, settings: CheckSettings): Severity | 'off' {
  const configured = settings.checks?.[check.name];
  if (configured !== undefined) return configured;
  if (check.name === 'naming-parity' && settings.strictNaming) return 'error';
  return check.defaultSeverity;
}

export function runChecks(input: CheckInput, settings: CheckSettings): Finding[] {
  const unknown = Object.keys(settings.checks ?? {}).filter((name) => !CHECKS.some((check) => check.name === name));
  if (unknown.length > 0) {
    throw new Error(
      `unknown check(s) in the fanout plugin options: ${unknown.join(', ')}. Known: ${CHECKS.map((check) => check.name).join(', ')}.`,
    );
  }
  return CHECKS.flatMap((check) => {
    const severity = severityOf(check, settings);
    return severity === 'off' ? [] : check.run(input, severity);
  });
}

/**
 * Loads the compiler and parses the contracts the checks will read, so that the
 * checks after the agent start warm; nothing when every check is off. Sessions
 * call it while their agent works: the first parse in a process costs several
 * hundred milliseconds, later ones tens. Never throws: it is only a head start,
 * and the checks themselves report what is wrong.
 */
export function warmChecks(root: string, contractsRoot: string, settings: CheckSettings): void {
  if (CHECKS.every((check) => severityOf(check, settings) === 'off')) return;
  try {
    moduleExports(contractsEntry(root, contractsRoot));
  } catch {
    // The checks read the same files and say what is wrong with them.
  }
}
