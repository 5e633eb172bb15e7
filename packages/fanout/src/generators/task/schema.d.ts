export interface TaskGeneratorSchema {
  names?: string;
  project?: string;
  like: string;
  subject?: string;
  generator?: string;
  contracts?: string;
  prompt?: string;
  agent?: string;
  command?: string;
  scope?: string;
  timeout?: string;
  wire?: string;
  directory?: string;
  linter?: 'eslint' | 'none';
  unitTestRunner?: 'jest' | 'vitest' | 'none';
  tags?: string;
  skipFormat?: boolean;
}
