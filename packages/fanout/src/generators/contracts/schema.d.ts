export interface ContractsGeneratorSchema {
  name: string;
  entities?: string;
  directory?: string;
  tags?: string;
  skipFormat?: boolean;
}
