export interface ContractsGeneratorSchema {
  name?: string;
  project?: string;
  entities?: string;
  directory?: string;
  linter?: 'eslint' | 'none';
  unitTestRunner?: 'jest' | 'vitest' | 'none';
  tags?: string;
  skipFormat?: boolean;
}
