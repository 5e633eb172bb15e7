import { CONVENTIONS_FILE } from '../../constants';

/**
 * The conventions file every agent session reads (AGENTS.md), and the pointer to
 * it from CLAUDE.md. fanout owns only the section between its markers, so a
 * person's own text in these files is never rewritten.
 */
export const SECTION_START = '<!-- fanout:start -->';
const SECTION_END = '<!-- fanout:end -->';

export const CONVENTIONS_SECTION = `${SECTION_START}
## Working in a fan-out (fanout)

This workspace builds features in parallel: several agent sessions run at once, each in its
own git worktree, each on one task. What keeps their results consistent:

1. **Use the contracts, never copies of them.** Shared types, interfaces and helpers live in the
   library tagged \`fanout:contracts\`. Import them from its package name. Do not declare a type, interface or enum that one of them already defines.
2. **Follow the reference.** The project tagged \`fanout:reference\` is the pattern: same file layout,
   same exported symbols with its subject replaced by your task's (\`SettingsPage\` becomes
   \`DashboardPage\`, \`users.handler.ts\` becomes \`orders.handler.ts\`), same error handling,
   same tests.
3. **Stay in your scope.** Write only inside your task's project (or the scope its \`fanout.md\`
   gives). The contracts and the reference are read-only to sessions.
4. **No hidden dependencies.** Do not import another task of the same run, nor anything that
   depends on one.
5. **Leave it green.** Your project's \`typecheck\`, \`lint\` and \`test\` targets must pass.
${SECTION_END}
`;

export const CLAUDE_POINTER = `${SECTION_START}
@${CONVENTIONS_FILE}
${SECTION_END}
`;

const MARKER = /<!-- fanout:start -->/;

/**
 * The file's new content with the fanout section appended, or `undefined` when
 * the file already has it. An absent file gets the section alone.
 */
export function appendSectionOnce(existing: string | undefined, section: string): string | undefined {
  if (existing === undefined) return section;
  if (MARKER.test(existing)) return undefined;
  const separator = existing === '' ? '' : existing.endsWith('\n\n') ? '' : existing.endsWith('\n') ? '\n' : '\n\n';
  return `${existing}${separator}${section}`;
}
