// With LAMINDENO_STORAGE (and LAMINDENO_DB) set (the instance notebooks of
// this kernel use, like Python lamindb's current instance), the kernel starts the notebook's run in
// its own process before the inner kernel runs a cell: the run exists even
// for a notebook that never touches the library, and the library inside the
// kernel adopts it when it opens that instance. Failures are logged and the
// kernel runs without it (the library then starts the run on first use).

import type { RunAnnouncement } from "../src/track/kernel_messages.ts";
import { redactError, redactText, redactUrl } from "../src/_redact.ts";

/** The run started for this kernel session, as the library would announce it. */
export type EarlyRun = RunAnnouncement;

/**
 * Open the instance at `storage` (with its registry at `db` when given, as
 * `ln.init` takes them), start the notebook's run, close the instance.
 */
export async function earlyRun(storage: string, db?: string): Promise<EarlyRun | undefined> {
  try {
    const ln = await import("../mod.ts");
    const { startKernelRun } = await import("../src/track/track.ts");
    await ln.init({ storage, ...(db ? { db } : {}) });
    try {
      // Without the notebook's path, a run of an unnamed notebook transform (warned once).
      return await startKernelRun();
    } finally {
      await ln.close();
    }
  } catch (e) {
    redactError(e);
    const where = /^[a-z][a-z0-9+.-]*:\/\//i.test(storage) ? redactUrl(storage) : storage;
    console.error(
      `lamindeno kernel: cannot start a run in LAMINDENO_STORAGE=${where}: ${
        redactText(String((e as Error)?.message ?? e))
      }`,
    );
    return undefined;
  }
}

/**
 * Remove the run `earlyRun` started when its session never executed a cell
 * (nothing refers to it then); a run something refers to stays. Failures are
 * logged.
 */
export async function discardEarlyRun(
  storage: string,
  db: string | undefined,
  early: EarlyRun,
): Promise<void> {
  try {
    const ln = await import("../mod.ts");
    const { discardUnusedRun } = await import("../src/registry/run.ts");
    const { defaultInstance } = await import("../src/registry/instance.ts");
    await ln.init({ storage, ...(db ? { db } : {}) });
    try {
      await discardUnusedRun(defaultInstance().assertOpen(), early.run_id);
    } finally {
      await ln.close();
    }
  } catch (e) {
    redactError(e);
    console.error(
      `lamindeno kernel: cannot remove the unused run ${early.run_id}: ${
        redactText(String((e as Error)?.message ?? e))
      }`,
    );
  }
}
