// save() of a saved file (lamindb's `artifact.description = "…"; artifact.save()`):
// its name, description and version label, as changed since it was read, are
// written; its key, content and provenance are not edited this way.
import { showValue } from "../_display.ts";
import { NotFoundError, ValidationError } from "../errors.ts";
import { retryBusy } from "./_db_errors.ts";
import { optionalText } from "./_description.ts";
import { checkVersionLabel } from "./_file_options.ts";
import { nowIso } from "./_model.ts";
import { indexForSearch } from "./_search_index.ts";
import type { File } from "./file.ts";
import type { Instance } from "./instance.ts";

/**
 * Write the `name`, `description` and `version` of saved `file` where they
 * differ from its row (nothing is written when none does). A `key` other
 * than the row's is a `ValidationError` and a deleted row a
 * `NotFoundError`, both with nothing written.
 */
export async function updateSavedFile(inst: Instance, file: File): Promise<void> {
  const name = optionalText("File", "name", file.name);
  const description = optionalText("File", "description", file.description);
  const version = file.version === null || file.version === undefined
    ? null
    : checkVersionLabel(file.version);
  const now = nowIso();
  const changed = await retryBusy(() =>
    inst.db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom("file")
        .select(["name", "description", "version", "key", "is_latest"])
        .where("id", "=", file.id).executeTakeFirst();
      if (!row) {
        throw new NotFoundError(`file ${file.id} was deleted; nothing was saved`);
      }
      if (row.key !== file.key) {
        throw new ValidationError(
          `file ${file.id}: a saved file's key does not change (it is ${
            showValue(row.key)
          } in the registry, ${showValue(file.key)} here); nothing was saved. To store ` +
            `the content under another key, save it anew: new ln.File(await file.stage(), { key })`,
        );
      }
      if (row.name === name && row.description === description && row.version === version) {
        return false;
      }
      await trx.updateTable("file").set({ name, description, version, updated_at: now })
        .where("id", "=", file.id).execute();
      // Search finds latest versions only (see _versions.ts).
      if (row.is_latest) {
        await indexForSearch(trx, "file", [{ id: file.id, name, key: row.key, description }]);
      }
      return true;
    })
  );
  Object.assign(file, { name, description, version });
  if (changed) file.updatedAt = new Date(now);
}
