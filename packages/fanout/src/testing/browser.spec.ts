import { chromiumExecutable, SYSTEM_CHROMIUM_PATHS } from './browser';

describe('chromiumExecutable', () => {
  const only =
    (...present: string[]) =>
    (path: string) =>
      present.includes(path);

  it('takes CHROME_PATH first', () => {
    const exists = only('/opt/chrome/chrome', '/usr/bin/chromium', '/pw/chrome');
    expect(chromiumExecutable({ env: { CHROME_PATH: '/opt/chrome/chrome' }, exists, playwrightPath: () => '/pw/chrome' })).toBe(
      '/opt/chrome/chrome',
    );
  });

  it('fails on a CHROME_PATH that does not exist rather than running another browser', () => {
    expect(() => chromiumExecutable({ env: { CHROME_PATH: '/nowhere/chrome' }, exists: only('/usr/bin/chromium') })).toThrow(
      'CHROME_PATH is /nowhere/chrome, which does not exist',
    );
  });

  it("prefers playwright-core's own Chromium when it is installed, then the system's", () => {
    expect(chromiumExecutable({ env: {}, exists: only('/pw/chrome', '/usr/bin/chromium'), playwrightPath: () => '/pw/chrome' })).toBe(
      '/pw/chrome',
    );
    expect(chromiumExecutable({ env: {}, exists: only('/usr/bin/google-chrome'), playwrightPath: () => '/pw/chrome' })).toBe(
      '/usr/bin/google-chrome',
    );
  });

  it('names the places it looked, the command that installs Chromium and CHROME_PATH when there is none', () => {
    let message = '';
    try {
      chromiumExecutable({ env: {}, exists: only(), playwrightPath: () => '/pw/chrome' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(`looked in /pw/chrome, ${SYSTEM_CHROMIUM_PATHS.join(', ')}.`);
    expect(message).toContain('`apt-get install -y chromium` (Debian or Ubuntu, as root)');
    expect(message).toContain('set CHROME_PATH');
  });
});
