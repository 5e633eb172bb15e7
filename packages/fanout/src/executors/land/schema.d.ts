import type { RunExecutorSchema } from '../run/schema';

/** The session's options, which Nx forwards from the landing to the session target. */
export type LandExecutorSchema = RunExecutorSchema;
