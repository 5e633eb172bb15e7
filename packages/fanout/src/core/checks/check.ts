import type { Subjects } from '../naming/subject';

/**
 * The one shape every per-session check has: it reads what a session wrote (in
 * its worktree, before integration) and returns findings. A check never throws
 * for what it finds; severity decides what a finding does (error fails the task).
 */
export type Severity = 'error' | 'warning';

export interface Finding {
  check: string;
  severity: Severity;
  /** Workspace-relative path. */
  file: string;
  /** 1-based line, 0 when the finding is about a whole file. */
  line: number;
  message: string;
  /** What to do about it. */
  fix: string;
}

export interface CheckInput {
  /** Where the session's files are: its worktree. */
  root: string;
  project: string;
  projectRoot: string;
  /** Workspace-relative files the session added or modified. */
  files: readonly string[];
  contracts: { project: string; root: string; importPath: string };
  reference: { project: string; root: string };
  /** The reference's subject and the task's (`settings` → `dashboard`), for naming parity. */
  subjects: Subjects;
  /** The workspace's projects, to resolve what an import points at. */
  projects?: readonly ProjectRef[];
  /** Projects this session must not import, with why: the other tasks of the run, and what depends on them. */
  forbidden?: ReadonlyMap<string, string>;
  /** The ports assigned to this session and to the other sessions of the run. */
  ports?: { own: PortRange; siblings: readonly (PortRange & { project: string })[] };
}

export interface ProjectRef {
  name: string;
  /** Workspace-relative root. */
  root: string;
  /** Specifiers other projects import it by (tsconfig paths, package name). */
  importPaths: readonly string[];
}

/** Ports from `first` to `last`, both included. */
interface PortRange {
  first: number;
  last: number;
}

export interface SessionCheck {
  name: string;
  description: string;
  defaultSeverity: Severity;
  run(input: CheckInput, severity: Severity): Finding[];
}

/** `file:line: message (fix)`, the one format findings are printed in. */
export function formatFinding(finding: Finding): string {
  const where = finding.line > 0 ? `${finding.file}:${finding.line}` : finding.file;
  return `${where}: ${finding.severity}: ${finding.message} Fix: ${finding.fix} [${finding.check}]`;
}
