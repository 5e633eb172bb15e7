import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { extractClaims } from './claims';
import type { CheckInput, Finding, SessionCheck, Severity } from './check';

const CHECK_NAME = 'port-claims';

/**
 * Every session is given its own ports (FANOUT_PORT_BASE and the range after it).
 * A port written into the code that falls in another session's range would clash
 * as soon as both services run.
 */
export const portClaims: SessionCheck = {
  name: CHECK_NAME,
  description: "No hard-coded port from another session's range.",
  defaultSeverity: 'error',
  run(input: CheckInput, severity: Severity): Finding[] {
    const ports = input.ports;
    if (!ports || ports.siblings.length === 0) return [];
    const findings: Finding[] = [];
    for (const file of input.files.filter((path) => /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/.test(path))) {
      const absolute = join(input.root, file);
      if (!existsSync(absolute)) continue;
      for (const { port, line } of extractClaims(file, readFileSync(absolute, 'utf-8')).ports) {
        const owner = ports.siblings.find((range) => port >= range.first && port <= range.last);
        if (!owner) continue;
        findings.push({
          check: CHECK_NAME,
          severity,
          file,
          line,
          message: `claims port ${port}, which belongs to the session of ${owner.project} (ports ${owner.first}–${owner.last}).`,
          fix: `use this session's ports, ${ports.own.first}–${ports.own.last}: read them from process.env.FANOUT_PORT_BASE rather than writing a number.`,
        });
      }
    }
    return findings;
  },
};
