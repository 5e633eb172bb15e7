export interface ReferenceGeneratorSchema {
  name?: string;
  project?: string;
  contracts: string;
  subject?: string;
  entity?: string;
  directory?: string;
  linter?: 'eslint' | 'none';
  unitTestRunner?: 'jest' | 'vitest' | 'none';
  tags?: string;
  skipFormat?: boolean;
}
