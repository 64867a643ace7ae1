// Link a file as an input of its instance's tracked run (load/stage/backed/stream call this).
import type { File } from "./file.ts";
import type { Instance } from "./instance.ts";
import { retryBusy } from "./_db_errors.ts";

export async function linkRunInput(
  inst: Instance,
  file: File,
  isRunInput: boolean | undefined,
): Promise<void> {
  const run = inst.run;
  if (!run || inst.closed || !file.isSaved) return;
  if (isRunInput === false || (isRunInput === undefined && !inst.settings.trackRunInputs)) return;
  if (file.runId === run.id) return; // the run's own output is not its input
  await retryBusy(() =>
    inst.db.insertInto("run_input").values({ run_id: run.id, file_id: file.id })
      .onConflict((oc) => oc.doNothing()).execute()
  );
}
