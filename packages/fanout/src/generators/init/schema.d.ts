export interface InitGeneratorSchema {
  skipFormat?: boolean;
  skipTypeScriptFix?: boolean;
}
