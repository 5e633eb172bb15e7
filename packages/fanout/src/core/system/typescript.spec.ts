import { join } from 'path';

/**
 * Every Nx task is a process of its own: the compiler (about half a second of
 * CPU to load) must not be loaded by merely starting the run executor.
 */
describe('typescript (loaded on first use)', () => {
  it('is not loaded by the run executor, the session or the checks until code is read', () => {
    jest.isolateModules(() => {
      require('../../executors/run/run');
      require('../session/session');
      require('../checks/registry');
      const { typescriptLoaded } = require('./typescript');
      expect(typescriptLoaded()).toBe(false);
    });
  });

  it('is the compiler ts-morph ships, loaded without the rest of ts-morph', () => {
    jest.isolateModules(() => {
      let tsMorphLoaded = false;
      jest.doMock('ts-morph', () => {
        tsMorphLoaded = true;
        return jest.requireActual('ts-morph');
      });
      const { typescript } = require('./typescript');
      expect(typeof typescript.createSourceFile).toBe('function');
      expect(tsMorphLoaded).toBe(false);
      expect(typescript.version).toBe(jest.requireActual('ts-morph').ts.version);
    });
  });

  it('is loaded by the first parse, and the parse is real', () => {
    jest.isolateModules(() => {
      const { typescriptLoaded, typescript } = require('./typescript');
      const { parseModule } = require('../checks/module-exports');
      expect(parseModule(join(__dirname, 'typescript.ts'))?.statements.length).toBeGreaterThan(0);
      expect(typescriptLoaded()).toBe(true);
      expect(typeof typescript.createSourceFile).toBe('function');
    });
  });
});
