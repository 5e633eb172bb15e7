import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { dirname, join, relative } from 'path';
import { runProcess } from '../system/process';
import { finalJson } from './cli-agent';
import { processReport } from './agent';
import { contractsEntry, moduleExports, parseModule } from '../checks/module-exports';
import { typescript } from '../system/typescript';
import { entityNames } from '../naming/names';
import { scaffoldEntity, substituteSource, substitution } from '../naming/substitution';
import { wireLikeReference } from './pattern-wiring';
import { listFiles } from '../system/files';
import type { AgentAdapter, AgentReport, AgentSession } from './agent';

/**
 * `agent: pattern` (the default): offline and deterministic. Replicates the
 * reference into the task's project with every spelling of the reference's
 * subject replaced by the task's (SettingsPage → DashboardPage, '/settings' →
 * '/dashboard'; users/Users/USERS/user/User → orders/Orders/... for plural nouns),
 * token by token with the TypeScript scanner (identifiers get camelCase, strings
 * and paths kebab-case), files renamed, and every name imported from the
 * contracts checked to exist (read from syntax, as the checks read it).
 */
export const patternAgent: AgentAdapter = {
  name: 'pattern',
  description: "Built in, offline: replicates the reference with its subject replaced by the task's, in every spelling.",
  async run(session: AgentSession): Promise<AgentReport> {
    if (session.sandbox) return runSandboxed(session);
    const referenceSrc = join(session.worktree, session.reference.root, 'src');
    if (!existsSync(referenceSrc)) {
      return { ok: false, error: `the reference "${session.reference.project}" has no src/ folder at ${session.reference.root}/src.` };
    }
    const { reference: from, task: to } = session.subjects;
    const renamePath = substitution(from, to, 'text');
    const written: string[] = [];
    for (const file of listFiles(referenceSrc)) {
      const target = join(session.worktree, session.projectRoot, 'src', renamePath(relative(referenceSrc, file)));
      const source = readFileSync(file, 'utf-8');
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, /\.[cm]?[jt]sx?$/.test(file) ? substituteSource(source, from, to, /x$/.test(file)) : renamePath(source));
      written.push(target);
    }
    const wired = (session.wired ?? []).filter((path) => wireLikeReference(join(session.worktree, path), from, to));
    const missing = missingContractImports(session, written);
    if (missing.length > 0) {
      return {
        ok: false,
        error:
          `the replicated code imports names the contracts do not export: ${missing.join(', ')}. ` +
          (scaffoldEntity(referenceSrc) !== undefined
            ? `Add the entity first: nx g fanout:contracts ${session.contracts.project} --entities=${entityNames(to).singular}`
            : `Add what the task needs to the contracts (${session.contracts.root}) first, then run the task again.`),
      };
    }
    return {
      ok: true,
      summary:
        `replicated ${written.length} file(s) of ${session.reference.project} for ${to} (${from} → ${to})` +
        (wired.length > 0 ? `, and registered it in ${wired.join(', ')}` : ''),
    };
  },
};

/** The child that runs the pattern agent: compiled, or (running from source, in fanout's own tests) through the loader its tests use. */
function childArgv(): { argv: string[]; env: Record<string, string> } {
  const fromSource = __filename.endsWith('.ts');
  const entry = join(__dirname, `pattern-child.${fromSource ? 'ts' : 'js'}`);
  if (!fromSource) return { argv: [process.execPath, entry], env: {} };
  const project = process.env['SWC_NODE_PROJECT'] ?? join(__dirname, '..', '..', '..', 'tsconfig.spec.json');
  return { argv: [process.execPath, '-r', require.resolve('@swc-node/register'), entry], env: { SWC_NODE_PROJECT: project } };
}

/** Sandboxed, the pattern agent runs in a child process the sandbox confines, like every other agent. */
async function runSandboxed(session: AgentSession): Promise<AgentReport> {
  const sandbox = session.sandbox as NonNullable<AgentSession['sandbox']>;
  const file = join(sandbox.privateTemp, 'pattern-session.json');
  // The child's session: the same, without the sandbox (it runs inside it); JSON leaves the redactor out.
  writeFileSync(file, JSON.stringify({ ...session, sandbox: undefined }));
  const child = childArgv();
  const result = await runProcess([...child.argv, file], {
    cwd: session.worktree,
    env: { ...session.env, ...child.env },
    timeoutMs: session.timeoutMs,
    logFile: session.logFile,
    echo: session.echo,
    redact: session.redact,
    sandbox,
  });
  const report = finalJson(result.stdout) as AgentReport | undefined;
  if (report && typeof report.ok === 'boolean') return report;
  const exit = processReport('the pattern agent', result, session.timeoutMs);
  return { ...exit, ok: false, error: exit.error ?? 'the pattern agent printed no report; see the session log.' };
}

/** Names imported from the contracts' import path that the contracts do not export. */
function missingContractImports(session: AgentSession, files: string[]): string[] {
  const index = contractsEntry(session.worktree, session.contracts.root);
  if (!existsSync(index)) return [];
  const exported = moduleExports(index);
  const missing = new Set<string>();
  for (const file of files.filter((path) => /\.[cm]?[jt]sx?$/.test(path))) {
    for (const statement of parseModule(file)?.statements ?? []) {
      if (!typescript.isImportDeclaration(statement) || !typescript.isStringLiteral(statement.moduleSpecifier)) continue;
      if (statement.moduleSpecifier.text !== session.contracts.importPath) continue;
      const bindings = statement.importClause?.namedBindings;
      if (!bindings || !typescript.isNamedImports(bindings)) continue;
      for (const element of bindings.elements) {
        const name = (element.propertyName ?? element.name).text;
        if (!exported.has(name)) missing.add(name);
      }
    }
  }
  return [...missing].sort();
}
