import baseConfig from '../../eslint.config.mjs';

export default [
  ...baseConfig,
  {
    files: ['**/*.json'],
    rules: {
      '@nx/dependency-checks': [
        'error',
        {
          // src/testing holds the specs' helpers, which are not built into the package.
          ignoredFiles: ['{projectRoot}/eslint.config.{js,cjs,mjs,ts,cts,mts}', '{projectRoot}/src/testing/**'],
          // nx runs the plugin, so it is a peer; the generators reach it only through @nx/devkit.
          // @swc-node/register loads the pattern agent's child from source, in fanout's own tests only.
          ignoredDependencies: ['nx', '@swc-node/register'],
        },
      ],
    },
    languageOptions: {
      parser: await import('jsonc-eslint-parser'),
    },
  },
  {
    ignores: ['**/out-tsc'],
  },
  {
    files: ['**/package.json', '**/generators.json', '**/executors.json', '**/migrations.json'],
    rules: {
      '@nx/nx-plugin-checks': 'error',
    },
    languageOptions: {
      parser: await import('jsonc-eslint-parser'),
    },
  },
];
