// Runs one command inside @anthropic-ai/sandbox-runtime and records what the sandbox denied.
//
//   node runner.mjs <settings.json> <denials.log> <command> [args...]
//
// Why a process of its own rather than the library in fanout's process: the library's SandboxManager is
// one per process (one policy, one proxy, one violation monitor), and fanout runs sessions with different
// policies side by side; the library is also ES modules only. Why not the library's `srt` CLI: it never
// starts the violation monitor and never prints what was denied, so a denial would only show as whatever
// the sandboxed program chose to print.
//
// Each denial is appended to <denials.log> as the library's one-line violation text ("deny openat /path",
// "deny network-outbound host:port (reason)") as soon as it is seen, so a run cut short keeps what it saw.
// The log lives outside every path the command may write, so the command cannot forge or erase it.
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { dirname } from 'node:path';

const [settingsFile, denialsFile, ...argv] = process.argv.slice(2);
if (!settingsFile || !denialsFile || argv.length === 0) {
  process.stderr.write('fanout sandbox runner: usage: runner.mjs <settings.json> <denials.log> <command> [args...]\n');
  process.exit(2);
}

// The library takes a shell string. Each argument is single-quoted, so a prompt stays data.
const quote = (arg) => `'${arg.replace(/'/g, `'\\''`)}'`;

// The library makes its proxy's sockets under the temp folder: this runner's control folder, short
// and out of the command's reach, rather than the private temp folder the command may write.
process.env.TMPDIR = dirname(settingsFile);
const { SandboxManager } = await import('@anthropic-ai/sandbox-runtime');
// insideEnv: variables set inside the sandbox over the library's own (its NO_PROXY, when a host on loopback is allowed).
const { insideEnv = {}, ...config } = JSON.parse(readFileSync(settingsFile, 'utf8'));

// The third argument starts the violation monitor: write attempts the mounts refused, on Linux.
await SandboxManager.initialize(config, undefined, true);

const store = SandboxManager.getSandboxViolationStore();
let recorded = 0;
store.subscribe((violations) => {
  const fresh = Math.min(store.getTotalCount() - recorded, violations.length);
  if (fresh <= 0) return;
  recorded = store.getTotalCount();
  appendFileSync(
    denialsFile,
    violations
      .slice(-fresh)
      .map((violation) => `${violation.line}\n`)
      .join(''),
  );
});

const assignments = Object.entries(insideEnv).map(([name, value]) => `${name}=${quote(value)} `);
const wrapped = await SandboxManager.wrapWithSandbox(assignments.join('') + argv.map(quote).join(' '));
const child = spawn(wrapped, { shell: true, stdio: 'inherit' });

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}

child.on('error', (error) => {
  process.stderr.write(`fanout sandbox runner: could not start the sandbox: ${error.message}\n`);
  process.exit(126);
});

child.on('close', async (code, signal) => {
  // Monitor events travel over a socket; let the ones already sent arrive before the log is final.
  await new Promise((resolve) => setTimeout(resolve, 20));
  SandboxManager.cleanupAfterCommand();
  await SandboxManager.reset();
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
