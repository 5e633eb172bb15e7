export interface CiGeneratorSchema {
  name?: string;
  targets?: string;
  remoteCache?: 'self-hosted' | 'nx-cloud' | 'none';
  secrets?: string;
  nodeVersion?: string;
  packageManager?: 'npm' | 'pnpm' | 'yarn' | 'bun';
  mainBranch?: string;
  force?: boolean;
  skipFormat?: boolean;
}
