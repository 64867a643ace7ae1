// The options of `delete()` (File, Collection), as lamindb's `delete(permanent=...)`:
// lamindeno keeps no trash, so every delete is permanent and `permanent: false`
// (lamindb's "move to the trash") is refused rather than ignored.
import { ValidationError } from "../errors.ts";
import { checkKnownOptions } from "../storage/_validate.ts";
import { showValue } from "../_display.ts";

/** Options of `file.delete()` and `collection.delete()`. */
export interface DeleteOptions {
  /**
   * `true` (the default, and the only choice): delete for good. lamindb
   * moves a record to its trash unless `permanent=True`; lamindeno has no
   * trash, so `false` is a `ValidationError` and nothing is deleted.
   */
  permanent?: boolean;
}

/** Check `delete()`'s options (a `ValidationError` before anything is deleted). */
export function checkDeleteOptions(what: string, options: DeleteOptions): void {
  checkKnownOptions(`${what}.delete(options)`, options, ["permanent"]);
  const p = options?.permanent;
  if (p === undefined || p === true) return;
  if (p === false) {
    throw new ValidationError(
      `${what}.delete({ permanent: false }): lamindeno has no trash (lamindb's), every delete is ` +
        `permanent; nothing was deleted: call delete() to delete for good`,
    );
  }
  throw new ValidationError(
    `${what}.delete(): permanent must be true or false, got ${showValue(p)}`,
  );
}
