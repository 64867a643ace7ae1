// The fields of a 1-D dataset of records (a compound datatype: anndata's
// rec-array, e.g. scanpy's rank_genes_groups, one field a group), each read
// as an array of its own. The records' bytes are read once; the
// variable-length strings of all string fields are decoded together, in
// record order (the order their heap objects were written in): field by
// field, each decode walked every global heap collection of the dataset
// again (40 groups x 20,000 genes of names: 40 passes over ~800,000
// strings' heaps, 1.1 s of a 1.4 s load).
import { CorruptFileError } from "../../errors.ts";
import type { StoreArray } from "../anndata/_store.ts";
import { type DType, sizeOf } from "./_parse.ts";
import type { H5Dataset, H5File } from "./h5file.ts";
import { gatherFields } from "../_gather_fields.ts";

type Compound = Extract<DType, { kind: "compound" }>;
type Member = Compound["members"][number];

/** The fields of one dataset of records, read on first use and kept. */
export class RecordFields {
  readonly #file: H5File;
  readonly #ds: H5Dataset;
  readonly #type: Compound;
  readonly #path: string;
  #bytes?: Promise<Uint8Array>;
  #strings?: Promise<Map<string, string[]>>;

  constructor(file: H5File, ds: H5Dataset, type: Compound, path: string) {
    this.#file = file;
    this.#ds = ds;
    this.#type = type;
    this.#path = path;
  }

  /** The field `member` of every record. */
  async read(member: Member): Promise<StoreArray> {
    const n = this.#ds.shape[0], shape = [n];
    if (member.type.kind === "vstring") {
      this.#strings ??= this.#allStrings();
      const data = (await this.#strings).get(member.name)!;
      return { kind: "string", data, shape };
    }
    const raw = fieldBytes(await this.#records(), n, this.#type.size, member);
    const v = await this.#file.decode(member.type, raw, n);
    if (v.kind === "number") return { kind: "number", data: v.data, shape, dtype: v.dtype };
    if (v.kind === "bool") return { kind: "bool", data: v.data, shape };
    return { kind: "string", data: v.data, shape };
  }

  /** The records' bytes, read once and checked against the shape. */
  #records(): Promise<Uint8Array> {
    this.#bytes ??= (async () => {
      const n = this.#ds.shape[0];
      const all = await this.#ds.readRows([[0, n]]);
      if (all.length < n * this.#type.size) {
        throw new CorruptFileError(
          `"${this.#file.label}": /${this.#path} holds fewer records than its shape`,
        );
      }
      return all;
    })();
    return this.#bytes;
  }

  /** Every string field's strings, by field name, decoded in one pass in record order. */
  async #allStrings(): Promise<Map<string, string[]>> {
    const n = this.#ds.shape[0], all = await this.#records();
    const members = this.#type.members.filter((m) => m.type.kind === "vstring");
    const k = members.length, size = this.#type.size;
    // The references of record i, field j at 16 * (i * k + j): record order.
    // (parseCompound checked that every field lies inside its record.)
    const refs = new Uint8Array(n * k * 16);
    for (let j = 0; j < k; j++) {
      for (let i = 0, src = members[j].offset, dst = 16 * j; i < n; i++) {
        for (let b = 0; b < 16; b++) refs[dst + b] = all[src + b];
        src += size;
        dst += 16 * k;
      }
    }
    const v = await this.#file.decode({ kind: "vstring" }, refs, n * k);
    const out = new Map<string, string[]>();
    members.forEach((m, j) => {
      const data = new Array<string>(n);
      for (let i = 0; i < n; i++) data[i] = v.data[i * k + j] as string;
      out.set(m.name, data);
    });
    return out;
  }
}

/** `member`'s bytes of each of the `n` records of `size` bytes in `all`, side by side. */
function fieldBytes(all: Uint8Array, n: number, size: number, member: Member): Uint8Array {
  const w = sizeOf(member.type), at = member.offset; // inside the record (parseCompound)
  const raw = new Uint8Array(n * w);
  gatherFields(all, n, size, [{ size: w, offset: at }], [raw]);
  return raw;
}
