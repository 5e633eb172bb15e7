import { readFileSync } from 'fs';
import type { AgentSession } from './agent';
import { patternAgent } from './pattern';

/**
 * `node pattern-child.js <session.json>`: the pattern agent in a process of its own, so that the
 * sandbox can confine it as it confines every other agent. Prints its report as the last line of stdout.
 */
const [file] = process.argv.slice(2);
const session = JSON.parse(readFileSync(file, 'utf-8')) as AgentSession;
patternAgent.run({ ...session, redact: (text) => text }).then(
  (report) => process.stdout.write(`\n${JSON.stringify(report)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
