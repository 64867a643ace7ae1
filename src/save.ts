import { File } from "./registry/file.ts";
import { saveFiles } from "./registry/_save.ts";
import { defaultInstance } from "./registry/instance.ts";
import { LazySchema } from "./storage/_validate.ts";

/**
 * The zod schema of what {@linkcode save} takes: an array of File records
 * (zod loads on first use); `parse` throws a `ValidationError` naming the
 * element.
 *
 * @example
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * const files = [new ln.File(new Uint8Array([1]), { key: "a.bin" })];
 * console.assert((await ln.SaveFilesSchema.safeParse(files)).success);
 * const bad = await ln.SaveFilesSchema.safeParse([files[0], "b.bin"]);
 * console.assert(!bad.success && bad.error.message.includes("[1]"));
 * ```
 */
export const SaveFilesSchema: LazySchema<File[]> = new LazySchema(
  "ln.save()",
  (z) =>
    z.array(z.instanceof(File, { error: "a File record" }), {
      error: "an array of File records",
    }),
);

/**
 * Save many files in one registry transaction: much faster than calling
 * `save()` on each (one commit instead of one per file). Same rules as
 * `File.save()`: dedup by hash, in place inside the root, copied otherwise.
 *
 * @example Register three files at once
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const files = [1, 2, 3].map((i) => new ln.File(new Uint8Array([i]), { key: `${i}.bin` }));
 * await ln.save(files);
 * console.assert((await ln.File.filter({})).length === 3);
 * await ln.close();
 * ```
 */
export async function save(files: File[]): Promise<File[]> {
  await SaveFilesSchema.parse(files);
  // Files bound to another instance (`{ instance }`) are saved there.
  const groups = new Map<unknown, File[]>();
  for (const f of files) {
    const inst = f._instance ??= defaultInstance();
    const group = groups.get(inst);
    if (group) group.push(f);
    else groups.set(inst, [f]);
  }
  for (const [inst, group] of groups) {
    await saveFiles(inst as NonNullable<File["_instance"]>, group);
  }
  return files;
}
