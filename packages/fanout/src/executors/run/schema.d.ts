export interface RunExecutorSchema {
  agent?: string;
  command?: string;
  timeout?: string;
  quiet?: boolean;
}
