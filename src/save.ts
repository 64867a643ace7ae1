import { ValidationError } from "./errors.ts";
import { File } from "./registry/file.ts";
import { saveFiles } from "./registry/_save.ts";
import { defaultInstance } from "./registry/instance.ts";

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
  if (!Array.isArray(files) || files.some((f) => !(f instanceof File))) {
    throw new ValidationError("ln.save() takes an array of File records");
  }
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
