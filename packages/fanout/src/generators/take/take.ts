import { logger, type Tree } from '@nx/devkit';
import { join } from 'path';
import type { SessionResult } from '../../core/session/result';
import { recordedFilesDir } from '../../core/landing/record';
import { resultFile, sessionDir } from '../../constants';
import type { TakeGeneratorSchema } from './schema';

function readRecord(tree: Tree, project: string): SessionResult {
  // Workspace-relative, as the Tree reads it.
  const file = resultFile('', project);
  const text = tree.read(file, 'utf-8');
  if (text === null) {
    throw new Error(`${project} has no session record (${file}): run nx run ${project}:fanout first, then take what its landing kept.`);
  }
  return JSON.parse(text) as SessionResult;
}

/**
 * `nx g fanout:take <task>`: writes the session's version of the files its landing
 * kept as the user's (or the files named), from the record's copy; deletes those
 * the session deleted. The next landing finds them in place.
 */
export async function takeGenerator(tree: Tree, options: TakeGeneratorSchema): Promise<void> {
  const record = readRecord(tree, options.project);
  const recorded = new Map(record.files.map((file) => [file.path, file]));
  const kept = (record.landing?.files ?? []).filter((file) => file.action === 'kept').map((file) => file.path);
  const asked = options.files
    ?.split(',')
    .map((path) => path.trim().replace(/^\.\//, ''))
    .filter(Boolean);
  const paths = asked ?? kept;
  const unknown = paths.filter((path) => !recorded.has(path));
  if (unknown.length > 0) {
    throw new Error(
      `${unknown.join(', ')}: not a file the session of ${options.project} wrote. It wrote: ${[...recorded.keys()].join(', ') || 'nothing'}.`,
    );
  }
  if (paths.length === 0) {
    logger.info(`fanout: the last landing of ${options.project} kept nothing of yours over the session's version; nothing to take.`);
    return;
  }
  // Workspace-relative, as the Tree reads it.
  const files = recordedFilesDir(sessionDir('', options.project));
  for (const path of paths) {
    const file = recorded.get(path);
    if (file?.status === 'deleted') {
      if (tree.exists(path)) tree.delete(path);
      continue;
    }
    const copy = tree.read(join(files, path));
    if (copy === null) throw new Error(`the session's copy of ${path} is missing from ${files}: run the task again.`);
    tree.write(path, copy);
  }
  logger.info(`fanout: took the session's version of ${paths.join(', ')}.`);
}

export default takeGenerator;
