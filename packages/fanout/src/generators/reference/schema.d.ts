export interface ReferenceGeneratorSchema {
  name: string;
  contracts: string;
  entity?: string;
  directory?: string;
  tags?: string;
  skipFormat?: boolean;
}
