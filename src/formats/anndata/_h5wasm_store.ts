// ElementStore over h5wasm (local files). h5wasm reads whole datasets through
// its own chunk cache; byte-range streaming uses our own reader instead.
import type H5wasm from "h5wasm/node";
import { CorruptFileError, LaminError } from "../../errors.ts";
import * as rt from "../../_runtime.ts";
import { dtypeOf, type NumericArray } from "./matrix.ts";
import type { ElementStore, StoreArray } from "./_store.ts";

let h5wasmP: Promise<typeof H5wasm> | undefined;

interface H5Meta {
  type: number;
  vlen?: boolean;
  enum_type?: { members: Record<string, number> };
  shape: number[];
}

function isBoolEnum(m: H5Meta): boolean {
  const members = m.enum_type?.members;
  return m.type === 8 && !!members && Object.keys(members).length === 2 &&
    members.FALSE === 0 && members.TRUE === 1;
}

function plainAttr(value: unknown, meta: H5Meta): unknown {
  if (isBoolEnum(meta)) {
    if (ArrayBuffer.isView(value)) return Array.from(value as Int8Array, (v) => v !== 0);
    return Number(value) !== 0;
  }
  if (typeof value === "bigint") return Number(value);
  if (value instanceof BigInt64Array || value instanceof BigUint64Array) {
    return Array.from(value, Number);
  }
  if (ArrayBuffer.isView(value)) return Array.from(value as Float64Array);
  return value;
}

/** Open a local HDF5 file read-only; `CorruptFileError` if it is not HDF5. */
export async function openH5(path: string): Promise<ElementStore> {
  // Loaded on first use: our own reader handles most files, and the wasm
  // module costs ~70 ms to load.
  const h5wasm = await (h5wasmP ??= import("h5wasm/node").then(async (m) => {
    await m.default.ready;
    return m.default;
  }));
  let file: InstanceType<typeof H5wasm.File>;
  try {
    const head = new Uint8Array(8);
    const f = await rt.openFile(path, "r");
    try {
      await rt.readAt(f, head, 0);
    } finally {
      await f.close();
    }
    if (head[0] !== 0x89 || String.fromCharCode(...head.subarray(1, 4)) !== "HDF") {
      throw new Error("no HDF5 signature at the start of the file");
    }
    file = new h5wasm.File(path, "r");
  } catch (e) {
    throw new CorruptFileError(`"${path}" is not a readable HDF5 file: ${(e as Error).message}`, {
      cause: e,
    });
  }
  // deno-lint-ignore no-explicit-any
  const get = (p: string): any => {
    try {
      return file.get(p === "" ? "/" : p);
    } catch {
      return undefined;
    }
  };
  return guarded({
    label: path,
    describe(p) {
      const node = get(p);
      const kind = node?.constructor?.name === "Group" || node?.constructor?.name === "File"
        ? "group"
        : node?.constructor?.name === "Dataset"
        ? "array"
        : undefined;
      return Promise.resolve(kind);
    },
    keys(p) {
      return Promise.resolve(get(p)?.keys?.() ?? []);
    },
    attrs(p) {
      const node = get(p);
      const out: Record<string, unknown> = {};
      for (const [k, a] of Object.entries(node?.attrs ?? {})) {
        // deno-lint-ignore no-explicit-any
        const attr = a as any;
        out[k] = plainAttr(attr.value, attr.metadata);
      }
      return Promise.resolve(out);
    },
    read(p) {
      const node = get(p);
      if (!node || node.constructor?.name !== "Dataset") {
        return Promise.reject(new CorruptFileError(`"${path}": no dataset at /${p}`));
      }
      try {
        const meta = node.metadata as H5Meta;
        const shape = meta.shape ?? [];
        const value = node.value;
        let out: StoreArray;
        if (meta.type === 3) {
          const arr = Array.isArray(value) ? value : [value];
          out = {
            kind: "string",
            data: arr.map((v: unknown) => v == null ? null : String(v)),
            shape,
          };
        } else if (isBoolEnum(meta)) {
          const v = value as Int8Array;
          out = { kind: "bool", data: new Uint8Array(v.buffer, v.byteOffset, v.length), shape };
        } else if (ArrayBuffer.isView(value)) {
          const data = value as NumericArray;
          out = { kind: "number", data, shape, dtype: dtypeOf(data) };
        } else if (typeof value === "number" || typeof value === "bigint") {
          const data = typeof value === "bigint"
            ? BigInt64Array.of(value)
            : meta.type === 0
            ? Int32Array.of(value)
            : Float64Array.of(value);
          out = { kind: "number", data, shape, dtype: dtypeOf(data) };
        } else {
          throw new Error(`unsupported HDF5 datatype class ${meta.type}`);
        }
        return Promise.resolve(out);
      } catch (e) {
        return Promise.reject(
          new CorruptFileError(`"${path}": cannot read /${p}: ${(e as Error).message}`, {
            cause: e,
          }),
        );
      }
    },
    close() {
      file.close();
    },
  });
}

/**
 * h5wasm throws plain errors ("error - name not defined!") on damaged files:
 * every failure of a store method becomes a `CorruptFileError` naming the
 * file, and closing never throws.
 */
function guarded(store: ElementStore): ElementStore {
  const wrap =
    <A extends unknown[], T>(what: string, fn: (...a: A) => Promise<T>) =>
    async (...args: A): Promise<T> => {
      try {
        return await fn(...args);
      } catch (e) {
        if (e instanceof LaminError) throw e;
        throw new CorruptFileError(
          `"${store.label}" is damaged or not a complete HDF5 file: ${what} ${
            args.map((a) => `/${a}`).join(" ")
          } failed (${(e as Error)?.message ?? e})`,
          { cause: e },
        );
      }
    };
  return {
    label: store.label,
    describe: wrap("reading", store.describe.bind(store)),
    keys: wrap("listing", store.keys.bind(store)),
    attrs: wrap("reading the attributes of", store.attrs.bind(store)),
    read: wrap("reading", store.read.bind(store)),
    close() {
      try {
        store.close();
      } catch { /* a damaged file may fail to close; nothing to release then */ }
    },
  };
}
