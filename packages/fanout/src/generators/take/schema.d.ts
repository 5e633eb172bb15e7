export interface TakeGeneratorSchema {
  project: string;
  files?: string;
}
