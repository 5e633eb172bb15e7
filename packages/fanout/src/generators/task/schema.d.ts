export interface TaskGeneratorSchema {
  names: string;
  like: string;
  contracts?: string;
  prompt?: string;
  agent?: string;
  command?: string;
  scope?: string;
  timeout?: string;
  directory?: string;
  tags?: string;
  skipFormat?: boolean;
}
