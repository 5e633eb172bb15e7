// Runs commands inside @anthropic-ai/sandbox-runtime, one at a time, and records what the sandbox denied.
//
//   node runner.mjs <control-folder>       (started with an IPC channel, advanced serialization, in a
//                                           process group of its own)
//
// Why a process of its own rather than the library in fanout's process: the library's SandboxManager is
// one per process (one policy, one proxy, one violation monitor), and fanout runs sessions with different
// policies side by side; the library is also ES modules only. Why not the library's `srt` CLI: it never
// starts the violation monitor and never prints what was denied, so a denial would only show as whatever
// the sandboxed program chose to print.
//
// Why it is started ahead and runs several commands: loading the library and starting its proxy and
// monitor take a few hundred milliseconds of CPU, so fanout starts the runner before it knows what to run
// (while a session's worktree is made), with the library set up under a policy that allows nothing, and
// gives it to the next session once its own has ended. One command at a time: the policy, the proxy's
// decisions and the denials are that command's alone.
//
// Messages from fanout (over the IPC channel):
//   { run: { id, settings: { network, filesystem }, insideEnv, argv, cwd, env } }   runs a command
//   { stdin: { id, data } }, { stdinEnd: { id } }                                   the command's stdin
//   { kill: { id, signal } }                                                        signals its process group
// and from the runner: { ready: true } once set up, then for each command { started: { id, pid } },
// { output: { id, stream, data } }, and { exit: { id, code, signal } } once the command and everything it
// left behind have ended.
//
// The runner installs each command's policy (the library's updateConfig: every wrap and every proxy
// decision after it goes by it), then runs the command in `cwd` with `env`, in a process group of its
// own. Each denial is appended to <control-folder>/denials-<id>.log as the library's one-line violation
// text ("deny openat /path", "deny network-outbound host:port (reason)") as soon as it is seen, so a run
// cut short keeps what it saw. The control folder lies outside every path the command may write, so the
// command can neither forge nor erase it. Before it reports a command's end, the runner ends whatever the
// command left running, so nothing of one session outlives it into the next one's policy.
//
// The runner ends when its channel closes (fanout is gone), or on SIGINT, SIGTERM or SIGHUP, ending the
// command it runs first.
import { spawn } from 'node:child_process';
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';

const [control] = process.argv.slice(2);
if (!control || !process.send) {
  process.stderr.write('fanout sandbox runner: usage: runner.mjs <control-folder>, started with an IPC channel\n');
  process.exit(2);
}

/** The command running now: its id, process, and the policy's writable folders (for its denials). */
let current;

/** The parent of process `pid`, from /proc (undefined once it is gone). */
function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command's name, in parentheses, may hold spaces: the fields after it are plain.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * Ends what a command's sandbox left running: bubblewrap's process inside the sandbox (the init of its
 * pid namespace, with the proxy bridges) is ended with bubblewrap only once it has set itself to die
 * with its parent; a signal during bubblewrap's start can come before, and leave it running, in a
 * session of its own; and a command may start processes of their own sessions. Every process of this
 * runner's sandboxes names its control folder (the proxy's sockets) on its command line. So do the
 * library's own bridges to its proxy, which serve every command: those are this runner's children, and
 * stay until the runner ends (`bridges`; a command's leftovers are not its children: the command's
 * own process is ended with its group).
 */
function endLeftovers({ bridges = false } = {}) {
  if (process.platform !== 'linux') return;
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!/^\d+$/.test(entry) || pid === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(control)) continue;
      if (!bridges && parentOf(pid) === process.pid && pid !== current?.child.pid) continue;
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Ends the command running now with all it started, then the runner, with the library's bridges. */
function stop(code) {
  if (current?.child.pid !== undefined) killGroup(current.child.pid, 'SIGKILL');
  endLeftovers({ bridges: true });
  process.exit(code);
}

// A signal, or fanout gone: the runner ends, and its command first. The library, once set up, listens for
// SIGINT and SIGTERM itself (to clean up) and would otherwise keep the process alive: whoever ends a
// runner (fanout at the end of its batch, Nx ending its batch process's tree) would wait for it.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => stop(128 + constants.signals[signal]));
process.on('disconnect', () => stop(0));

// Listened for before anything is awaited: a message that came before its listener would be lost.
const queued = [];
let handle = (message) => queued.push(message);
process.on('message', (message) => handle(message));

// The library makes its proxy's sockets under the temp folder: the control folder, short and out of the
// command's reach, rather than the private temp folder the command may write.
process.env.TMPDIR = control;
const setupEnv = { ...process.env };
const { SandboxManager } = await import('@anthropic-ai/sandbox-runtime');
// Nothing allowed until a command's policy comes. The third argument starts the violation monitor: write
// attempts the mounts refused, on Linux.
await SandboxManager.initialize(
  { network: { allowedDomains: [], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: [], denyWrite: [] } },
  undefined,
  true,
);

// The monitor's lists were fixed by the policy it started under, which allows no write: it names the
// writes a command's policy allows too. Those are no denials.
const allowedWrite = (line, writable) => {
  const path = /\bdeny [a-z0-9_]+ (\/.*?)\s*$/.exec(line)?.[1];
  return path !== undefined && writable.some((folder) => path === folder || path.startsWith(`${folder}/`));
};
const store = SandboxManager.getSandboxViolationStore();
let recorded = 0;
store.subscribe((violations) => {
  const fresh = Math.min(store.getTotalCount() - recorded, violations.length);
  recorded = store.getTotalCount();
  // Between commands (the last one's processes all ended), nothing is anybody's.
  if (fresh <= 0 || !current) return;
  const lines = violations
    .slice(-fresh)
    .map((violation) => violation.line)
    .filter((line) => !allowedWrite(line, current.writable));
  if (lines.length > 0) appendFileSync(current.denialLog, lines.map((line) => `${line}\n`).join(''));
});

const send = (message) => process.send(message, () => undefined);
const quote = (arg) => `'${arg.replace(/'/g, `'\\''`)}'`;

/**
 * Input and signals for commands not started yet (they wait their turn, or the wrap): given to the
 * command as soon as it has a process.
 */
const pending = new Map();
const pendingFor = (id) => {
  if (!pending.has(id)) pending.set(id, { input: [], ended: false, signals: [] });
  return pending.get(id);
};

function restoreSetup() {
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, setupEnv);
  process.chdir(control);
}

async function run({ id, settings, insideEnv = {}, argv, cwd, env }) {
  SandboxManager.updateConfig(settings);
  // The command's environment, as the library reads it when it wraps (its temp folder, Java's options).
  // SHLVL at least 1: the library's wrapper script runs in bash, whose stdin here is a socket (Node's
  // pipes are), and bash at level 1 with a socket on stdin takes itself for an ssh session and runs the
  // user's ~/.bashrc (nvm, pyenv, conda: often a few hundred milliseconds) before every command.
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, env, { TMPDIR: control, SHLVL: String(Math.max(1, Number(env.SHLVL) || 0)) });
  process.chdir(cwd);
  // The library takes a shell string. Each argument is single-quoted, so a prompt stays data.
  const assignments = Object.entries(insideEnv).map(([name, value]) => `${name}=${quote(value)} `);
  const wrapped = await SandboxManager.wrapWithSandbox(assignments.join('') + argv.map(quote).join(' '));
  const child = spawn(wrapped, { shell: true, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  current = { id, child, writable: settings.filesystem.allowWrite, denialLog: join(control, `denials-${id}.log`) };
  send({ started: { id, pid: child.pid } });
  for (const stream of ['stdout', 'stderr']) child[stream].on('data', (data) => send({ output: { id, stream, data } }));
  child.stdin.on('error', () => undefined);
  const early = pending.get(id);
  pending.delete(id);
  for (const data of early?.input ?? []) child.stdin.write(data);
  if (early?.ended) child.stdin.end();
  for (const signal of early?.signals ?? []) killGroup(child.pid, signal);

  let closeTimer;
  const { code, signal } = await new Promise((resolve) => {
    child.on('error', (error) => {
      send({ output: { id, stream: 'stderr', data: `fanout sandbox runner: could not start the sandbox: ${error.message}\n` } });
      resolve({ code: 126, signal: null });
    });
    child.on('exit', () => {
      // Whatever the command left in its group or its sandbox goes with it, and may not hold its output open.
      killGroup(child.pid, 'SIGKILL');
      endLeftovers();
      closeTimer = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
      }, 2_000);
    });
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  clearTimeout(closeTimer);
  // Monitor events travel over a socket; let the ones already sent arrive before the log is final.
  await new Promise((resolve) => setTimeout(resolve, 20));
  return { code, signal };
}

// Commands one at a time, in the order they came; their ids count up from 1.
let chain = Promise.resolve();
let finished = 0;
handle = (message) => {
  const command = message?.run;
  if (command) {
    chain = chain.then(async () => {
      let exit;
      try {
        exit = await run(command);
      } catch (error) {
        send({ output: { id: command.id, stream: 'stderr', data: `fanout sandbox runner: ${error?.message ?? error}\n` } });
        exit = { code: 126, signal: null };
      }
      current = undefined;
      pending.delete(command.id);
      finished = command.id;
      SandboxManager.cleanupAfterCommand();
      restoreSetup();
      send({ exit: { id: command.id, ...exit } });
    });
    return;
  }
  const part = message?.stdin ?? message?.stdinEnd ?? message?.kill;
  if (!part || part.id <= finished) return;
  if (current && part.id === current.id) {
    if (message.stdin) current.child.stdin.write(message.stdin.data);
    else if (message.stdinEnd) current.child.stdin.end();
    else if (current.child.pid !== undefined) killGroup(current.child.pid, message.kill.signal);
    return;
  }
  const early = pendingFor(part.id);
  if (message.stdin) early.input.push(message.stdin.data);
  else if (message.stdinEnd) early.ended = true;
  else early.signals.push(message.kill.signal);
};
for (const message of queued.splice(0)) handle(message);
// Set up: whoever waits for the runner may now count on it.
send({ ready: true });
