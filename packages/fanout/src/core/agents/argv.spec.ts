import { buildArgv, splitTemplate } from './argv';

describe('splitTemplate', () => {
  it('splits on any run of whitespace', () => {
    expect(splitTemplate('  node\tscript.js \n  a   b ')).toEqual(['node', 'script.js', 'a', 'b']);
  });

  it('keeps single-quoted text literal, backslashes included', () => {
    expect(splitTemplate(`echo 'a b' 'c\\d' '"x"'`)).toEqual(['echo', 'a b', 'c\\d', '"x"']);
  });

  it('allows \\" and \\\\ inside double quotes and keeps other backslashes', () => {
    expect(splitTemplate(`echo "say \\"hi\\"" "a\\\\b" "c\\nd" "it's"`)).toEqual(['echo', 'say "hi"', 'a\\b', 'c\\nd', "it's"]);
  });

  it('lets a backslash outside quotes escape one character', () => {
    expect(splitTemplate(`echo a\\ b \\'c \\"d \\\\e`)).toEqual(['echo', 'a b', "'c", '"d', '\\e']);
  });

  it('joins adjacent quoted and unquoted parts into one word', () => {
    expect(splitTemplate(`run --flag="a b"'c d'e`)).toEqual(['run', '--flag=a bc de']);
  });

  it('keeps an empty quoted word (\'\' or "")', () => {
    expect(splitTemplate(`prog '' "" x`)).toEqual(['prog', '', '', 'x']);
  });

  it('reports an unterminated quote, naming the quote', () => {
    expect(() => splitTemplate(`prog 'abc`)).toThrow("The command template has an unterminated ' quote: prog 'abc");
    expect(() => splitTemplate('prog "abc')).toThrow('The command template has an unterminated " quote');
  });
});

describe('buildArgv', () => {
  const values = {
    promptFile: '/ws/.fanout/sessions/orders/prompt.md',
    worktree: '/ws/.fanout/worktrees/orders',
    project: 'orders',
    projectRoot: 'libs/orders',
  };

  it('substitutes every placeholder, also inside an element', () => {
    expect(buildArgv('agent {promptFile} --cwd={worktree} "{project} in {projectRoot}"', values)).toEqual([
      'agent',
      '/ws/.fanout/sessions/orders/prompt.md',
      '--cwd=/ws/.fanout/worktrees/orders',
      'orders in libs/orders',
    ]);
  });

  it('leaves unknown braces alone', () => {
    expect(buildArgv('agent {other} {}', values)).toEqual(['agent', '{other}', '{}']);
  });

  it('keeps a value with shell metacharacters as one literal element', () => {
    const hostile = '$(touch x) `id`; rm -rf / | cat > out && echo "q" \'q\' \\ $HOME\nnext line';
    expect(buildArgv('agent --name {project} {projectRoot}', { ...values, project: hostile })).toEqual([
      'agent',
      '--name',
      hostile,
      'libs/orders',
    ]);
  });

  it('does not substitute placeholders or replacement patterns that come from a value', () => {
    expect(buildArgv('agent {project} {worktree}', { ...values, project: "{worktree} $& $1 $'" })).toEqual([
      'agent',
      "{worktree} $& $1 $'",
      '/ws/.fanout/worktrees/orders',
    ]);
  });

  it.each(['', '   ', ' \n\t ', "'' arg", '"  " arg'])('rejects %j: the template names no program', (template) => {
    expect(() => buildArgv(template, values)).toThrow('The command template names no program');
  });

  it('reports an unterminated quote', () => {
    expect(() => buildArgv('agent "{promptFile}', values)).toThrow('unterminated " quote');
  });
});
