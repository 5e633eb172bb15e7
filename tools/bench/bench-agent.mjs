// The agent of the benchmark workspaces (copied there as tools/bench-agent.mjs) and
// run by fanout's `command` agent in a session's worktree:
//   node tools/bench-agent.mjs <ms> <referenceRoot> <projectRoot>
// It waits <ms>, as a real agent does while it works, then writes what a well-behaved
// session writes: the reference's sources with the entity renamed. With only <ms> it
// just waits (the Nx-only baseline, run as an nx:run-commands target).
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const [ms, referenceRoot, projectRoot] = process.argv.slice(2);

function names(plural) {
  const singular = plural.endsWith('ies') ? `${plural.slice(0, -3)}y` : plural.replace(/s$/, '');
  const upperFirst = (word) => word[0].toUpperCase() + word.slice(1);
  return {
    plural,
    singular,
    Plural: upperFirst(plural),
    Singular: upperFirst(singular),
    PLURAL: plural.toUpperCase(),
    SINGULAR: singular.toUpperCase(),
  };
}

function files(dir) {
  return readdirSync(dir).flatMap((entry) => (statSync(join(dir, entry)).isDirectory() ? files(join(dir, entry)) : [join(dir, entry)]));
}

function writeSession() {
  const from = names(referenceRoot.split('/').pop());
  const to = names(projectRoot.split('/').pop());
  const swap = {
    [from.plural]: to.plural,
    [from.Plural]: to.Plural,
    [from.PLURAL]: to.PLURAL,
    [from.singular]: to.singular,
    [from.Singular]: to.Singular,
    [from.SINGULAR]: to.SINGULAR,
  };
  const pattern = new RegExp(
    Object.keys(swap)
      .sort((a, b) => b.length - a.length)
      .join('|'),
    'g',
  );
  const rename = (text) => text.replace(pattern, (word) => swap[word]);
  const source = join(referenceRoot, 'src');
  for (const file of files(source)) {
    const target = join(projectRoot, 'src', rename(relative(source, file)));
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, rename(readFileSync(file, 'utf-8')));
  }
}

setTimeout(() => {
  if (projectRoot) writeSession();
}, Number(ms));
