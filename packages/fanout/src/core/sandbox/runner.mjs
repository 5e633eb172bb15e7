// Runs one command inside @anthropic-ai/sandbox-runtime and records what the sandbox denied.
//
//   node runner.mjs <control-folder>       (started with an IPC channel, in a process group of its own)
//
// Why a process of its own rather than the library in fanout's process: the library's SandboxManager is
// one per process (one policy, one proxy, one violation monitor), and fanout runs sessions with different
// policies side by side; the library is also ES modules only. Why not the library's `srt` CLI: it never
// starts the violation monitor and never prints what was denied, so a denial would only show as whatever
// the sandboxed program chose to print.
//
// Why it waits for its command: loading the library and starting its proxy and monitor take a few hundred
// milliseconds, so fanout starts the runner before it knows what to run (while the session's worktree is
// made), with the library set up under a policy that allows nothing. The one message that follows, over
// the IPC channel (stdin is the command's), is the session's policy and the command:
//   { settings: { network, filesystem }, insideEnv, argv, cwd, env }
// The runner installs the policy (the library's updateConfig: every wrap and every proxy decision after it
// goes by it), then runs the command in `cwd` with `env`, on the runner's own stdio; its exit is the
// runner's. Left without a command (the channel closes), it ends.
//
// Each denial is appended to <control-folder>/denials.log as the library's one-line violation text
// ("deny openat /path", "deny network-outbound host:port (reason)") as soon as it is seen, so a run cut
// short keeps what it saw. The control folder lies outside every path the command may write, so the
// command can neither forge nor erase it.
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

const [control] = process.argv.slice(2);
if (!control || !process.send) {
  process.stderr.write('fanout sandbox runner: usage: runner.mjs <control-folder>, started with an IPC channel\n');
  process.exit(2);
}

// A signal before the command has started ends the runner at once. The library, once set up, listens
// for SIGINT and SIGTERM itself (to clean up) and so would keep the process alive: whoever ends a waiting
// runner (fanout at the end of its batch, Nx ending its batch process's tree) would wait for it. Once the
// command runs, a signal goes to the command instead (below).
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];
const endWaiting = (signal) => process.exit(128 + constants.signals[signal]);
for (const signal of SIGNALS) process.on(signal, endWaiting);

// Listened for before anything is awaited: a message that came before its listener would be lost.
const command = new Promise((resolve) => {
  process.once('message', resolve);
  process.once('disconnect', () => resolve(undefined));
});

// The library makes its proxy's sockets under the temp folder: the control folder, short and out of the
// command's reach, rather than the private temp folder the command may write.
process.env.TMPDIR = control;
const { SandboxManager } = await import('@anthropic-ai/sandbox-runtime');
// Nothing allowed until the session's policy comes. The third argument starts the violation monitor:
// write attempts the mounts refused, on Linux.
await SandboxManager.initialize(
  { network: { allowedDomains: [], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: [], denyWrite: [] } },
  undefined,
  true,
);
// Set up: whoever waits for the runner may now count on it.
process.send({ ready: true }, () => undefined);

const message = await command;
if (!message) {
  await SandboxManager.reset();
  process.exit(0);
}
process.disconnect();
const { settings, insideEnv = {}, argv, cwd, env } = message;
SandboxManager.updateConfig(settings);

// The monitor's lists were fixed by the policy it started under, which allows no write: it names the
// writes the session's policy allows too. Those are no denials.
const writable = settings.filesystem.allowWrite;
const allowedWrite = (line) => {
  const path = /\bdeny [a-z0-9_]+ (\/.*?)\s*$/.exec(line)?.[1];
  return path !== undefined && writable.some((folder) => path === folder || path.startsWith(`${folder}/`));
};
const store = SandboxManager.getSandboxViolationStore();
let recorded = 0;
store.subscribe((violations) => {
  const fresh = Math.min(store.getTotalCount() - recorded, violations.length);
  if (fresh <= 0) return;
  recorded = store.getTotalCount();
  const lines = violations
    .slice(-fresh)
    .map((violation) => violation.line)
    .filter((line) => !allowedWrite(line));
  if (lines.length > 0) appendFileSync(join(control, 'denials.log'), lines.map((line) => `${line}\n`).join(''));
});

// The command's environment, as the library reads it when it wraps (its temp folder, Java's options).
// SHLVL at least 1: the library's wrapper script runs in bash, whose stdin here is a socket (Node's
// pipes are), and bash at level 1 with a socket on stdin takes itself for an ssh session and runs the
// user's ~/.bashrc (nvm, pyenv, conda: often a few hundred milliseconds) before every command.
for (const name of Object.keys(process.env)) delete process.env[name];
Object.assign(process.env, env, { TMPDIR: control, SHLVL: String(Math.max(1, Number(env.SHLVL) || 0)) });
process.chdir(cwd);

// The library takes a shell string. Each argument is single-quoted, so a prompt stays data.
const quote = (arg) => `'${arg.replace(/'/g, `'\\''`)}'`;
const assignments = Object.entries(insideEnv).map(([name, value]) => `${name}=${quote(value)} `);
const wrapped = await SandboxManager.wrapWithSandbox(assignments.join('') + argv.map(quote).join(' '));
const child = spawn(wrapped, { shell: true, stdio: 'inherit' });

let signalled = false;
for (const signal of SIGNALS) {
  process.off(signal, endWaiting);
  process.on(signal, () => {
    signalled = true;
    child.kill(signal);
  });
}

/**
 * After a signal: ends what the sandbox left running. bubblewrap's process inside the sandbox (the
 * init of its pid namespace, with the proxy bridges) is ended with bubblewrap only once it has set
 * itself to die with its parent; a signal during bubblewrap's start can come before, and leave it
 * running, in a session of its own. Every process of this command's sandbox names this runner's
 * control folder (its sockets) on its command line.
 */
function endLeftovers() {
  if (process.platform !== 'linux') return;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(control)) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
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
  if (signalled || signal) endLeftovers();
  process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
});
