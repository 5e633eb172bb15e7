import { HELPER_MODULES, loadHelper, nxHelper } from './nx-internals';

function moduleError(code: string): Error {
  return Object.assign(new Error(`cannot load (${code})`), { code });
}

describe("Nx's generator helpers", () => {
  it('come from the installed Nx, every one of them', () => {
    for (const name of Object.keys(HELPER_MODULES) as (keyof typeof HELPER_MODULES)[]) {
      expect(typeof nxHelper(name)).toBe('function');
    }
  });

  it("are taken from the next module when a path is not in this Nx version's package", () => {
    const helper = () => 'root';
    const loaded: string[] = [];
    const load = (specifier: string) => {
      loaded.push(specifier);
      if (specifier === 'new') throw moduleError('ERR_PACKAGE_PATH_NOT_EXPORTED');
      if (specifier === 'newer') throw moduleError('MODULE_NOT_FOUND');
      if (specifier === 'other') return { somethingElse: helper };
      return { getRelativeCwd: helper };
    };
    expect(loadHelper('getRelativeCwd', ['newer', 'new', 'other', 'old'], load)).toBe(helper);
    expect(loaded).toEqual(['newer', 'new', 'other', 'old']);
  });

  it('let a module that fails while loading fail, rather than hide its error', () => {
    const load = () => {
      throw new SyntaxError('Unexpected token');
    };
    expect(() => loadHelper('getRelativeCwd', ['broken', 'old'], load)).toThrow('Unexpected token');
  });

  it('say what is missing and what to do when no module has the helper', () => {
    const load = () => {
      throw moduleError('MODULE_NOT_FOUND');
    };
    expect(() => loadHelper('determineProjectNameAndRootOptions', ['a', 'b'], load)).toThrow(
      "fanout needs Nx's determineProjectNameAndRootOptions, which the installed Nx does not provide (looked in a, b). " +
        'Install the same version of nx, @nx/devkit and @nx/js, from 21 to 23.',
    );
  });
});
