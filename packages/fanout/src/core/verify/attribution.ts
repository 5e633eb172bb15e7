/**
 * Which sessions of a run a failed task of `nx affected` is to be blamed on, and
 * why. A task can only have been broken by a change to its own project or to a
 * project it depends on: so a session is a suspect when it landed a file in one
 * of those projects, or edited a wired file of one of them. Plain data in (the
 * failed tasks, the project graph, what each session landed), suspects out, each
 * with the reasons that made it one. Linear in the sessions' files.
 */

export interface FailedTask {
  project: string;
  target: string;
  /** The task's own output: what narrows the suspects down. */
  output: string;
}

/** The project graph as plain data: each project's root, and whom each depends on. */
export interface ProjectGraphData {
  nodes: Readonly<Record<string, { root: string }>>;
  dependencies: Readonly<Record<string, readonly { target: string }[]>>;
}

/** What one session of the run put into the workspace. */
export interface SessionTouches {
  /** The session's project (its task). */
  project: string;
  /** Workspace-relative files it landed (written, deleted, or found already in place). */
  landed: readonly string[];
  /** The wired files it edited, with the project that owns each. */
  wired: readonly { path: string; project: string }[];
}

interface Suspect {
  session: string;
  /** One line per way the session reaches the failed task. */
  reasons: string[];
  /** The session's files (landed or wired) in the failed task's project or its dependencies. */
  files: string[];
  /** Those of `files` the failed output names. */
  named: string[];
}

export interface TaskAttribution {
  /** `project:target`. */
  task: string;
  project: string;
  target: string;
  /** The sessions blamed, in the order of `sessions` given (landing order). */
  suspects: Suspect[];
  /** Sessions that reached the task but were cleared by the output, with why. */
  cleared: { session: string; reason: string }[];
  /** One sentence: how the suspects were found. */
  how: string;
}

/** How many of a suspect's files its reason names before it counts the rest. */
const FILES_NAMED = 3;

/** The project owning each workspace-relative path: the one with the longest root containing it. */
function ownerLookup(nodes: ProjectGraphData['nodes']): (path: string) => string | undefined {
  const byRoot = new Map<string, string>();
  let rootProject: string | undefined;
  for (const [name, { root }] of Object.entries(nodes)) {
    const normal = root.replace(/\/+$/, '');
    if (normal === '' || normal === '.') rootProject = name;
    else byRoot.set(normal, name);
  }
  return (path) => {
    for (let end = path.lastIndexOf('/'); end > 0; end = path.lastIndexOf('/', end - 1)) {
      const owner = byRoot.get(path.slice(0, end));
      if (owner !== undefined) return owner;
    }
    return byRoot.get(path) ?? rootProject;
  };
}

/** Every project `start` depends on, directly or not, each with the project it was reached from (for the path). */
function dependencyClosure(start: string, graph: ProjectGraphData): Map<string, string | undefined> {
  const reachedFrom = new Map<string, string | undefined>([[start, undefined]]);
  const queue = [start];
  for (let index = 0; index < queue.length; index++) {
    const current = queue[index];
    for (const { target } of graph.dependencies[current] ?? []) {
      // External nodes (npm:react) hold no file a session could land.
      if (reachedFrom.has(target) || !graph.nodes[target]) continue;
      reachedFrom.set(target, current);
      queue.push(target);
    }
  }
  return reachedFrom;
}

/** `shop → cart → ui`: how the failed project reaches `project`. */
function dependencyPath(project: string, reachedFrom: ReadonlyMap<string, string | undefined>): string {
  const path = [project];
  for (let from = reachedFrom.get(project); from !== undefined; from = reachedFrom.get(from)) path.unshift(from);
  return path.join(' → ');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]/g;
/** A path-like word of an output: at least one slash or a file extension, without its `:line:col` or `(line,col)`. */
const PATH_WORD = /[\w@.~-]*(?:\/[\w@.~-]+)+|[\w@~-]+\.[A-Za-z][\w]{0,5}/g;

/**
 * Every path an output names, and every tail of each at a slash: `/tmp/ws/apps/shop/src/a.ts`
 * also counts as `apps/shop/src/a.ts` and `src/a.ts`, however the tool that printed it
 * abbreviated it (absolute, or relative to the project it ran in).
 */
function namedPaths(output: string): Set<string> {
  const named = new Set<string>();
  for (const match of output.replace(ANSI, '').matchAll(PATH_WORD)) {
    let word = match[0].replace(/^\.\/+/, '');
    named.add(word);
    for (let slash = word.indexOf('/'); slash >= 0; slash = word.indexOf('/')) {
      word = word.slice(slash + 1);
      if (word !== '') named.add(word);
    }
  }
  return named;
}

/** Whether the output names `file`: whole, or relative to the root of the project that owns it (when that still has a folder in it). */
function isNamed(file: string, ownerRoot: string | undefined, named: ReadonlySet<string>): boolean {
  if (named.has(file)) return true;
  const root = ownerRoot?.replace(/\/+$/, '');
  if (!root || root === '.' || !file.startsWith(`${root}/`)) return false;
  const inProject = file.slice(root.length + 1);
  return inProject.includes('/') && named.has(inProject);
}

function listFiles(files: readonly string[]): string {
  const shown = files.slice(0, FILES_NAMED).join(', ');
  return files.length > FILES_NAMED ? `${shown} and ${files.length - FILES_NAMED} more` : shown;
}

/**
 * The suspects of each failed task among `sessions` (given in landing order): the
 * sessions that landed files in the task's project or in a project it depends on,
 * directly or not, and those that edited a wired file of one of them. Where the
 * task's output names files of some suspects but not of others, only those it
 * names stay suspects; the others are listed as cleared, with why.
 */
export function attributeFailures(
  failed: readonly FailedTask[],
  graph: ProjectGraphData,
  sessions: readonly SessionTouches[],
): TaskAttribution[] {
  const ownerOf = ownerLookup(graph.nodes);
  // Each session's files grouped by the project owning them, once for every failed task.
  const touched = sessions.map((session) => {
    const byProject = new Map<string, { landed: string[]; wired: string[] }>();
    const entry = (project: string) => {
      let files = byProject.get(project);
      if (!files) byProject.set(project, (files = { landed: [], wired: [] }));
      return files;
    };
    for (const file of session.landed) {
      const owner = ownerOf(file);
      if (owner !== undefined) entry(owner).landed.push(file);
    }
    for (const file of session.wired) entry(file.project).wired.push(file.path);
    return { session: session.project, byProject };
  });

  return failed.map((task) => {
    const id = `${task.project}:${task.target}`;
    const reachedFrom = dependencyClosure(task.project, graph);
    const named = namedPaths(task.output);
    const all: Suspect[] = [];
    for (const { session, byProject } of touched) {
      const suspect: Suspect = { session, reasons: [], files: [], named: [] };
      for (const [project, files] of byProject) {
        if (!reachedFrom.has(project)) continue;
        const where =
          project === task.project
            ? `${project}, the failed task's project`
            : `${project}, which ${task.project} depends on (${dependencyPath(project, reachedFrom)})`;
        if (files.landed.length > 0) suspect.reasons.push(`landed ${listFiles(files.landed)} in ${where}`);
        if (files.wired.length > 0) suspect.reasons.push(`edited ${listFiles(files.wired)}, a wired file of ${where}`);
        const root = graph.nodes[project]?.root;
        for (const file of [...files.landed, ...files.wired]) {
          suspect.files.push(file);
          if (isNamed(file, root, named)) suspect.named.push(file);
        }
      }
      if (suspect.reasons.length > 0) all.push(suspect);
    }

    const namers = all.filter((suspect) => suspect.named.length > 0);
    const narrowed = namers.length > 0 && namers.length < all.length;
    const suspects = narrowed ? namers : all;
    for (const suspect of namers) suspect.reasons.push(`the failed output names ${listFiles(suspect.named)}`);
    const cleared = narrowed
      ? all
          .filter((suspect) => suspect.named.length === 0)
          .map((suspect) => ({
            session: suspect.session,
            reason: `it ${suspect.reasons.join('; ')}, but the failed output names none of its files while it names ${namers
              .map((namer) => namer.session)
              .join(', ')}'s`,
          }))
      : [];
    const reach = reachedFrom.size - 1;
    const scope = `${task.project} and the ${reach} project${reach === 1 ? '' : 's'} it depends on`;
    const how =
      all.length === 0
        ? `no session of the run landed a file in ${scope}, nor edited a wired file of them: the failure is not the run's sessions'.`
        : `${all.length} session${all.length === 1 ? '' : 's'} landed files in ${scope} or edited their wired files` +
          (narrowed
            ? `; the failed output names files of ${namers.length} of them, who stay suspects.`
            : namers.length > 0
              ? '; the failed output names files of each.'
              : '; the failed output names none of their files, so each stays a suspect.');
    return { task: id, project: task.project, target: task.target, suspects, cleared, how };
  });
}
