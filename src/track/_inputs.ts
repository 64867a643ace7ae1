// Link a file as an input of the tracked run (load/stage/backed/stream call this).
import { maybeInstance } from "../_state.ts";
import type { File } from "../registry/file.ts";
import { context } from "./context.ts";

export async function linkRunInput(file: File, isRunInput: boolean | undefined): Promise<void> {
  const run = context.run;
  const inst = maybeInstance();
  if (!run || !inst || !file.isSaved) return;
  if (isRunInput === false || (isRunInput === undefined && !inst.trackRunInputs)) return;
  if (file.runId === run.id) return; // the run's own output is not its input
  await inst.db.insertInto("run_input").values({ run_id: run.id, file_id: file.id })
    .onConflict((oc) => oc.doNothing()).execute();
}
