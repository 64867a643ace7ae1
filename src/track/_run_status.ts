// A tracked script that throws marks its run "errored" before the process
// ends. The uncaught error (a throw at top level arrives as an unhandled
// rejection; one in a callback as an `error` event) is held back only until
// the run is saved, then raised again unchanged: the process prints the same
// message and exits with the same code as without tracking. A process that
// is killed runs no code: its run stays "started" with no `finishedAt`.
import { log } from "../_log.ts";
import * as rt from "../_runtime.ts";
import type { Instance } from "../registry/instance.ts";
import type { Run } from "../registry/run.ts";

/** How long the errored run may take to save before the error is raised anyway. */
const SAVE_TIMEOUT_MS = 5_000;

let active: (() => void) | undefined;

/** Watch for an uncaught error while `run` is tracked; replaces an earlier watch. */
export function watchErrors(inst: Instance, run: Run): void {
  unwatchErrors();
  const mark = async (): Promise<void> => {
    if (inst.run !== run) return;
    run.status = "errored";
    run.finishedAt = new Date();
    try {
      await Promise.race([
        run.save(),
        new Promise((resolve) => setTimeout(resolve, SAVE_TIMEOUT_MS)),
      ]);
    } catch (e) {
      log.debug(`could not mark run ${run.id} errored: ${(e as Error)?.message ?? e}`);
    }
  };
  active = rt.watchUncaught({
    rejection(reason) {
      unwatchErrors();
      void mark().finally(() => {
        // Raised again, with no listener of ours: the runtime's usual report and exit.
        void Promise.reject(reason);
      });
    },
    error(error) {
      unwatchErrors();
      void mark().finally(() => {
        setTimeout(() => {
          throw error;
        });
      });
    },
  });
}

/** Stop watching (on `finish()`). */
export function unwatchErrors(): void {
  active?.();
  active = undefined;
}
