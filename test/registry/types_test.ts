// Records are typed from the one `Database` interface: a misspelled column
// or field mapping fails `deno check` (which `deno test` runs on this file;
// an `@ts-expect-error` that no longer finds an error fails it too).
import type { Model } from "../../src/registry/_model.ts";
import { selectWhere } from "../../src/registry/_model.ts";
import type { RegistryDb } from "../../src/registry/db.ts";
import type { File } from "../../src/registry/file.ts";
import { FILE_MODEL } from "../../src/registry/_file_model.ts";
import { assertEquals } from "../_helpers.ts";

// A mapping to a column that does not exist does not compile.
export const misspelled: Pick<Model<"file", File>, "fields"> = {
  fields: {
    id: "id",
    // @ts-expect-error "sufix" is not a column of the file table
    suffix: "sufix",
  },
};

// Neither does a query on one.
export async function typedQueries(db: RegistryDb): Promise<void> {
  // @ts-expect-error "sufix" is not a column of the file table
  await db.selectFrom("file").select("sufix").execute();
  const rows = await db.selectFrom("file").select(["suffix", "size"]).execute();
  // Selected rows are typed: size is a number, suffix a string.
  rows.map((r) => r.suffix.toUpperCase() + r.size.toFixed(0));
}

Deno.test("every File field maps to a column of the file table, and the mapping is used by queries", () => {
  const fields = Object.keys(FILE_MODEL.fields);
  assertEquals(fields.includes("suffix") && fields.includes("createdById"), true);
  assertEquals(FILE_MODEL.fields.createdById, "created_by_id");
  assertEquals(typeof selectWhere, "function");
});
