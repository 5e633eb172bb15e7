// One timed pass of per-session checks over prepared sessions, in a fresh process
// as every real session is (each fanout task runs in its own process, so module
// loading and the compiler's first use are paid by every session). Prints JSON.
//   node check-sessions.mjs <workspace> <mode> <sessions.json>
// mode: conformance (contract-conformance only), all (every per-session check),
//       parse (the baseline: parse the same files with the compiler the checks use, loaded as
//       they load it, nothing else)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [workspace, mode, sessionsFile] = process.argv.slice(2);
const sessions = JSON.parse(readFileSync(sessionsFile, 'utf-8'));
const require = createRequire(join(workspace, 'package.json'));
const cpu = process.cpuUsage();
const started = performance.now();

let runSession;
if (mode === 'parse') {
  // The checks' own compiler module: the same TypeScript, through the same code cache.
  const { typescript: ts } = require(join(workspace, 'node_modules', 'fanout', 'dist', 'core', 'system', 'typescript.js'));
  runSession = (session) => {
    for (const file of [...session.contractFiles, ...session.input.files]) {
      const path = join(session.input.root, file);
      ts.createSourceFile(path, readFileSync(path, 'utf-8'), ts.ScriptTarget.Latest, true);
    }
    return 0;
  };
} else {
  const checks = join(workspace, 'node_modules', 'fanout', 'dist', 'core', 'checks');
  const { contractConformance } = require(join(checks, 'contract-conformance.js'));
  const { CHECKS, severityOf } = require(join(checks, 'registry.js'));
  const selected = mode === 'conformance' ? [contractConformance] : CHECKS;
  runSession = (session) =>
    selected.flatMap((check) => {
      const severity = severityOf(check, {});
      return severity === 'off' ? [] : check.run({ ...session.input, forbidden: new Map(session.input.forbidden) }, severity);
    }).length;
}

const perSession = [];
let findings = 0;
for (const session of sessions) {
  const from = performance.now();
  findings += runSession(session);
  perSession.push(performance.now() - from);
}
const used = process.cpuUsage(cpu);
console.log(JSON.stringify({ wallMs: performance.now() - started, cpuMs: (used.user + used.system) / 1000, perSession, findings }));
