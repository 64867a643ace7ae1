import { COLLECTION_MODEL } from "./collection.ts";
import { escapeHtml } from "../_display.ts";
import { Description } from "./description.ts";
import { dfHtml, recordsDf } from "./_table.ts";
import { FILE_MODEL } from "./_file_model.ts";
import { FEATURES_MODEL } from "./features.ts";
import { FOLDER_MODEL } from "./folder.ts";
import { defaultInstance, type Instance } from "./instance.ts";
import type { Model, Table } from "./_model.ts";
import { RUN_MODEL } from "./run.ts";
import { STORAGE_MODEL } from "./storage_record.ts";
import { TRANSFORM_MODEL } from "./transform.ts";
import { ULABEL_MODEL } from "./ulabel.ts";
import { USER_MODEL } from "./user.ts";
import { ValidationError } from "../errors.ts";

/** Options of `ln.view()`. */
export interface ViewOptions {
  /** How many of the latest records of each registry (default 7). */
  limit?: number;
  /** The instance to look at (default: the one `ln.init()` opened). */
  instance?: Instance;
}

/** The registries `view()` shows, in this order. */
const REGISTRIES = [
  FILE_MODEL,
  COLLECTION_MODEL,
  TRANSFORM_MODEL,
  RUN_MODEL,
  ULABEL_MODEL,
  FOLDER_MODEL,
  FEATURES_MODEL,
  STORAGE_MODEL,
  USER_MODEL,
] as unknown as Model<Table, unknown>[];

/**
 * The latest records of each registry (File, Collection, Transform, Run, ULabel,
 * Folder, Features, Storage, User) as tables, newest first, like lamindb's
 * `ln.view()`; empty registries are left out. The result shows itself: a
 * notebook cell ending in `await ln.view()` displays HTML tables,
 * `console.log(await ln.view())` prints text tables.
 *
 * @example The latest two records of each registry
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
 * const v = await ln.view({ limit: 2 });
 * console.assert(v.text.includes("a.txt") && v.html.includes("<table"));
 * console.log(v);
 * await ln.close();
 * ```
 */
export async function view(options: ViewOptions = {}): Promise<Description> {
  if (options === null || typeof options !== "object") {
    throw new ValidationError("view(options): options must be an object like { limit: 7 }");
  }
  const limit = options.limit ?? 7;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new ValidationError(`view(): limit must be a whole number >= 1, got ${String(limit)}`);
  }
  const inst = (options.instance ?? defaultInstance()).assertOpen();
  const text: string[] = [];
  const html: string[] = [];
  for (const model of REGISTRIES) {
    const df = await recordsDf(inst, model, {}, { limit });
    if (df.height === 0) continue;
    text.push(`${model.label}\n${df.toString()}`);
    html.push(`<h4>${escapeHtml(model.label)}</h4>${dfHtml(df)}`);
  }
  return new Description(
    text.length ? text.join("\n\n") : "(no records)",
    `<div class="lamindeno-view">${html.join("") || "<p>(no records)</p>"}</div>`,
  );
}
