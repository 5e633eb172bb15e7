import { existsSync } from 'fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Chrome or Chromium usually is when a system package installed it. */
export const SYSTEM_CHROMIUM_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
];

export interface ChromiumLookup {
  env?: NodeJS.ProcessEnv;
  exists?: (path: string) => boolean;
  /** Where playwright-core keeps the Chromium `npx playwright-core install chromium` downloads. */
  playwrightPath?: () => string | undefined;
}

function playwrightChromium(): string | undefined {
  try {
    return chromium.executablePath();
  } catch {
    return undefined;
  }
}

/**
 * The Chromium the browser tests drive: CHROME_PATH when set, else playwright-core's
 * own when it is installed, else a system one. Throws one message with the command
 * that installs one when there is none.
 */
export function chromiumExecutable(lookup: ChromiumLookup = {}): string {
  const env = lookup.env ?? process.env;
  const exists = lookup.exists ?? existsSync;
  const chromePath = env['CHROME_PATH'];
  if (chromePath) {
    if (exists(chromePath)) return chromePath;
    throw new Error(`CHROME_PATH is ${chromePath}, which does not exist. Point it at a Chrome or Chromium executable, or unset it.`);
  }
  const ownPath = (lookup.playwrightPath ?? playwrightChromium)();
  const candidates = [...(ownPath ? [ownPath] : []), ...SYSTEM_CHROMIUM_PATHS];
  const found = candidates.find((path) => exists(path));
  if (found) return found;
  throw new Error(
    `No Chromium for the browser tests: looked in ${candidates.join(', ')}. ` +
      'Install one with `apt-get install -y chromium` (Debian or Ubuntu, as root), ' +
      'or set CHROME_PATH to a Chrome or Chromium executable, then run the tests again.',
  );
}

// Nothing but the page itself: no first-run, update, sync or background traffic.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless Chromium; without a user-data-dir playwright makes an empty one and deletes it on close. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumExecutable(), args: CHROMIUM_ARGS });
}
