import type { Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * A Node notification service as `create-nx-workspace --preset=ts` leaves it: every
 * project named after its package (`@ws/notification-contracts`), none adopted yet.
 * The contracts, an email channel that uses them, and the notifier app that uses the channel.
 */
export function scopedNotificationWorkspace(): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  tree.write('package.json', json({ name: '@ws/source', private: true, workspaces: ['packages/*'] }));
  tree.write('tsconfig.base.json', json({ compilerOptions: { composite: true, customConditions: ['@ws/source'] } }));
  tree.write('tsconfig.json', json({ extends: './tsconfig.base.json', files: [], references: [] }));
  const library = (folder: string, manifest: Record<string, unknown>, sources: Record<string, string>) => {
    tree.write(`packages/${folder}/package.json`, json({ version: '0.0.1', types: './src/index.ts', main: './src/index.ts', ...manifest }));
    tree.write(`packages/${folder}/tsconfig.lib.json`, json({ extends: '../../tsconfig.base.json', include: ['src/**/*.ts'] }));
    for (const [path, text] of Object.entries(sources)) tree.write(`packages/${folder}/src/${path}`, text);
  };
  library(
    'notification-contracts',
    { name: '@ws/notification-contracts' },
    { 'index.ts': 'export interface Notification {\n  to: string;\n  body: string;\n}\n' },
  );
  library(
    'channel-email',
    { name: '@ws/channel-email', dependencies: { '@ws/notification-contracts': '*' } },
    {
      'index.ts': "export * from './lib/email-channel';\n",
      'lib/email-channel.ts':
        "import type { Notification } from '@ws/notification-contracts';\nexport class EmailChannel {\n  send(notification: Notification) {\n    return notification;\n  }\n}\n",
    },
  );
  library(
    'notifier',
    { name: '@ws/notifier', dependencies: { '@ws/channel-email': '*', '@ws/notification-contracts': '*' } },
    {
      'index.ts': "import { EmailChannel } from '@ws/channel-email';\nexport const channels = [new EmailChannel()];\n",
    },
  );
  return tree;
}
