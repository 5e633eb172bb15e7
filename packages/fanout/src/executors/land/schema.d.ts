import type { RunExecutorSchema } from '../run/schema';

/** The session's options, forwarded by Nx to the session target, and the landing's own. */
export interface LandExecutorSchema extends RunExecutorSchema {
  takeSession?: boolean | string | string[];
}
