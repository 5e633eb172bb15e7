export interface VerifyExecutorSchema {
  targets?: string[];
  base?: string;
  skipAffected?: boolean;
  parallel?: number;
  verifyRepairs?: number;
}
