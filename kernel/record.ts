// Provenance recording for the lamindeno kernel (to be filled in).
import type { KernelHooks } from "./hooks.ts";

/** The hooks that record notebook runs; a placeholder that records nothing. */
export function recordingHooks(): KernelHooks {
  return {};
}
