import { killRunningCommands } from './run-command';
import { printedAsRun } from './task-runs';
import { bareWorkspace, INSTALLING, removeWorkspace, requireEnv, TEST_LIMIT, TestWorkspace } from './workspace';

/**
 * A Node notification service (node16 module resolution: imports end in .js) as Nx's default workspace names it: every project
 * after its npm package (`@ws/notification-contracts`), one library made with
 * `--name` (project `channel-email`, package `@ws/channel-email`). The user types
 * the folder names; fanout finds the projects, proposes the subject, and makes a
 * sibling named and placed like the reference.
 */
const CONTRACTS_SOURCE = `export interface Notification {
  to: string;
  body: string;
}

export interface Channel {
  readonly name: string;
  send(notification: Notification): Promise<string>;
}
`;

const channelSource = (contracts: string) => `import type { Channel, Notification } from '${contracts}';

export class EmailChannel implements Channel {
  readonly name = 'email';

  async send(notification: Notification): Promise<string> {
    return \`email to \${notification.to}: \${notification.body}\`;
  }
}
`;

describe('fanout in a workspace of npm-scoped projects and libraries made with --name', () => {
  let ws: TestWorkspace;
  let scope = '';

  beforeAll(async () => {
    ws = await bareWorkspace('scoped');
    scope = ws.readJson<{ name: string }>('package.json').name.split('/')[0];
    const noChecks = ['--bundler=none', '--unitTestRunner=none', '--linter=none', '--no-interactive'];
    await ws.nx(['g', '@nx/js:library', 'packages/notification-contracts', ...noChecks], INSTALLING);
    await ws.nx(['g', '@nx/js:library', 'packages/channel-email', '--name=channel-email', ...noChecks], INSTALLING);
    const contracts = `${scope}/notification-contracts`;
    ws.writeFile('packages/notification-contracts/src/index.ts', "export * from './lib/notification.js';\n");
    ws.writeFile('packages/notification-contracts/src/lib/notification.ts', CONTRACTS_SOURCE);
    await ws.run('rm', ['-f', ws.path('packages/notification-contracts/src/lib/notification-contracts.ts')]);
    ws.writeFile('packages/channel-email/src/index.ts', "export * from './lib/email-channel.js';\n");
    ws.writeFile('packages/channel-email/src/lib/email-channel.ts', channelSource(contracts));
    await ws.run('rm', ['-f', ws.path('packages/channel-email/src/lib/channel-email.ts')]);
    const manifest = ws.readJson<Record<string, unknown>>('packages/channel-email/package.json');
    ws.writeFile(
      'packages/channel-email/package.json',
      `${JSON.stringify({ ...manifest, dependencies: { [contracts]: '*' } }, null, 2)}\n`,
    );
    await ws.run('npm', ['install'], INSTALLING);
    await ws.nx(['sync'], INSTALLING);
    await ws.nx(['add', `fanout@${requireEnv('FANOUT_E2E_VERSION')}`], INSTALLING);
    await ws.commitEverything('notifications: contracts, the email channel, fanout');
  }, 3 * INSTALLING);

  afterEach(killRunningCommands);
  afterAll(() => {
    killRunningCommands();
    removeWorkspace(ws);
  });

  it(
    'adopts the contracts and the channel by the names a person types, and proposes the subject',
    async () => {
      const contracts = await ws.nx(['g', 'fanout:contracts', '--project=notification-contracts', '--no-interactive']);
      expect(contracts.output).toContain(`--project=notification-contracts is the project ${scope}/notification-contracts.`);
      const reference = await ws.nx([
        'g',
        'fanout:reference',
        '--project=channel-email',
        '--contracts=notification-contracts',
        '--no-interactive',
      ]);
      expect(reference.output).toMatch(/subject "email"/);
      const shown = JSON.parse((await ws.nx(['show', 'project', 'channel-email', '--json'])).stdout) as { tags: string[] };
      expect(shown.tags).toEqual(expect.arrayContaining(['fanout:reference', 'fanout:subject:email']));
      await ws.commitEverything('notifications: contracts and reference adopted');
    },
    TEST_LIMIT,
  );

  it(
    'makes the sms channel a sibling named and placed like the email one, and fans it out green',
    async () => {
      await ws.nx(['g', 'fanout:task', 'sms', '--like=channel-email', '--no-interactive'], INSTALLING);
      const manifest = ws.readJson<{ name: string; nx?: { name?: string } }>('packages/channel-sms/package.json');
      expect(manifest.name).toBe(`${scope}/channel-sms`);
      expect(manifest.nx?.name).toBe('channel-sms');
      await ws.commitEverything('notifications: the sms channel to build');

      const run = await ws.nxFailing(['run-many', '-t', 'fanout', 'fanout-verify', '--outputStyle=static'], 2 * INSTALLING);
      expect({ status: run.status, output: run.status === 0 ? '' : run.output.slice(-4000) }).toEqual({ status: 0, output: '' });
      expect(printedAsRun(run.output, 'channel-sms:fanout-session')).toBe(true);
      const source = ws.readFile('packages/channel-sms/src/lib/sms-channel.ts');
      expect(source).toContain('export class SmsChannel implements Channel');
      expect(source).toContain(`from '${scope}/notification-contracts'`);
      expect(ws.readFile('packages/channel-sms/src/index.ts')).toBe("export * from './lib/sms-channel.js';\n");
    },
    2 * TEST_LIMIT,
  );
});
