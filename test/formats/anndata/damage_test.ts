// Damaged AnnData files (issue 11, items 6 and 9): claimed sizes checked
// before allocating, decompression capped, and silent wrong answers turned
// into CorruptFileError naming the element. Seeds from Python anndata/h5py
// (test/corpus/_seeds.py), then patched.
import * as ln from "../../../mod.ts";
import { assert, assertEquals, assertRejects, tempDir } from "../../_helpers.ts";
import { needsPython, python } from "../../_python.ts";
import { writeSeeds } from "../../corpus/_make_corpus.ts";
import { readH5ad } from "../../../src/formats/anndata/read_h5ad.ts";
import { readZarr } from "../../../src/formats/anndata/read_zarr.ts";
import { wideChecks } from "../../../src/formats/anndata/_decode.ts";
import { warmPool } from "../../../src/formats/hdf5/_unfilter_pool.ts";
import { fileBytes, H5File } from "../../../src/formats/hdf5/h5file.ts";
import { planElements, planIndptr, spanList } from "../../../src/query/plan.ts";
import {
  CorruptFileError,
  CsrMatrix,
  UnsupportedFormatError,
  ValidationError,
} from "../../../mod.ts";

const py = needsPython("damaged AnnData", "anndata", "h5py", "pandas", "PIL", "zarr");

let seedDir: Promise<string> | undefined;
/** The seeds, written once per test file. */
function seeds(): Promise<string> {
  return seedDir ??= (async () => {
    const d = await tempDir("lamindeno-damage-");
    await writeSeeds(d);
    return d;
  })();
}

/** A copy of seed `name` (file or folder) in a fresh dir. */
async function copy(name: string): Promise<string> {
  const to = `${await tempDir("lamindeno-damage-")}/${name}`;
  const r = await new Deno.Command("cp", { args: ["-r", `${await seeds()}/${name}`, to] }).output();
  assert(r.success);
  return to;
}

/** Replace the first 8-byte little-endian `from` (followed by `next`) with `to`. */
async function patchU64(path: string, from: number[], to: number): Promise<void> {
  const b = await Deno.readFile(path);
  const pat = new Uint8Array(8 * from.length);
  from.forEach((x, i) => new DataView(pat.buffer).setBigUint64(8 * i, BigInt(x), true));
  let at = -1;
  outer: for (let i = 0; i + pat.length <= b.length; i++) {
    for (let k = 0; k < pat.length; k++) if (b[i + k] !== pat[k]) continue outer;
    at = i;
    break;
  }
  assert(at >= 0, `pattern ${from} found in ${path}`);
  new DataView(b.buffer).setBigUint64(at, BigInt(to), true);
  await Deno.writeFile(path, b);
}

/** Save `path` as a File of a fresh instance and run `fn` on it. */
async function withFile(path: string, fn: (f: ln.File) => Promise<void>): Promise<void> {
  await ln.init({ storage: await tempDir() });
  try {
    await fn(await new ln.File(path, { key: `x/${path.split("/").pop()}` }).save());
  } finally {
    await ln.close();
  }
}

async function allThree(f: ln.File, re: RegExp, cls: typeof CorruptFileError = CorruptFileError) {
  await assertRejects(() => f.load(), cls, re);
  await assertRejects(
    () => f.stream({ subsetObs: f.subsetter().cell_type.eq("T cell") }),
    cls,
    re,
  );
  await assertRejects(
    async () => {
      const b = await f.backed();
      try {
        await b.obs();
        await b.X?.get();
      } finally {
        b.close();
      }
    },
    cls,
    re,
  );
}

Deno.test({
  name:
    "a dense X whose dims claim 2^40 rows is a CorruptFileError before anything is allocated, in load(), stream() and backed()",
  ...py,
  async fn() {
    const path = await copy("dense.h5ad");
    await patchU64(path, [40, 12], 2 ** 40);
    const src = fileBytes(path);
    try {
      const f = await H5File.open(src, "dense.h5ad");
      await assertRejects(
        () => f.get("X"),
        CorruptFileError,
        /X claims shape \[1099511627776, 12\]/,
      );
    } finally {
      src.close();
    }
    await withFile(path, (f) => allThree(f, /claims shape/));
  },
});

Deno.test({
  name:
    "a gzip chunk that inflates beyond its chunk's declared size (64 MiB from 384 bytes) is a CorruptFileError",
  ...py,
  async fn() {
    const path = await copy("bomb.h5ad");
    await assertRejects(
      () => readH5ad(path),
      CorruptFileError,
      /X.*inflates beyond its declared size \(384 bytes\)/,
    );
    await withFile(path, (f) => allThree(f, /inflates beyond/));
  },
});

Deno.test({
  name:
    "categorical codes out of range (100, -7) are a CorruptFileError naming the codes, in h5ad and zarr",
  ...py,
  async fn() {
    for (const code of [100, -7]) {
      const h5 = await copy("csr.h5ad");
      await python(
        `import sys, h5py\nwith h5py.File(sys.argv[1], "a") as f: f["obs/cell_type/codes"][3] = int(sys.argv[2])`,
        h5,
        String(code),
      );
      await assertRejects(
        () => readH5ad(h5),
        CorruptFileError,
        new RegExp(`/obs/cell_type/codes: code ${code} at row 3`),
      );
      await withFile(h5, (f) => allThree(f, /obs\/cell_type\/codes: code/));
      const z = await copy("csr.zarr");
      await python(
        `import sys, zarr\nz = zarr.open(sys.argv[1] + "/obs/cell_type/codes", "r+"); z[3] = int(sys.argv[2])`,
        z,
        String(code),
      );
      await assertRejects(() => readZarr(z), CorruptFileError, /obs\/cell_type\/codes: code/);
    }
  },
});

Deno.test({
  name:
    "CSR X with a decreasing or negative indptr, or an index outside the columns, is a CorruptFileError naming X in load(), stream() and backed()",
  ...py,
  async fn() {
    const edits = {
      decreasing: `p = f["X/indptr"]; p[4] = p[3] - 1`,
      negative: `f["X/indptr"][2] = -5`,
      index: `f["X/indices"][0] = 12`,
      lastIndex: `f["X/indices"][-1] = -3`,
      first: `f["X/indptr"][0] = 1`,
    };
    for (const [what, edit] of Object.entries(edits)) {
      const path = await copy("csr.h5ad");
      await python(`import sys, h5py\nwith h5py.File(sys.argv[1], "a") as f:\n    ${edit}`, path);
      await assertRejects(() => readH5ad(path), CorruptFileError, /\/X/);
      await withFile(path, async (f) => {
        await assertRejects(() => f.load(), CorruptFileError, /\/X/);
        if (what === "first") return; // a subset never reads indptr[0] alone
        await assertRejects(
          async () => {
            const b = await f.backed();
            try {
              await b.X!.get();
            } finally {
              b.close();
            }
          },
          CorruptFileError,
          /\/X/,
        );
        // Subsets too: rows (read by spans), columns (filtered), both.
        const b = await f.backed();
        try {
          const rows = Array.from({ length: b.shape[0] }, (_, i) => i).filter((i) => i !== 1);
          const cols = [0, 1];
          for (const [r, c] of [[rows, undefined], [undefined, cols], [rows, cols]]) {
            await assertRejects(() => b.X!.get(r, c), CorruptFileError, /\/X/);
          }
        } finally {
          b.close();
        }
      });
    }
  },
});

Deno.test({
  name:
    "an index outside the columns deep inside a large X, h5ad plain or gzip, zarr, int32 or int64 " +
    "(read in parts, checked as they land) is a CorruptFileError naming X; the same file undamaged loads",
  ...py,
  async fn() {
    const dir = await tempDir();
    try {
      // The workers running, as after any earlier read that needed them: uncompressed int32
      // indices then go to them (a first read of a plain file checks them here instead).
      warmPool();
      const cases = [
        ["", "int32"],
        ["gzip", "int32"],
        ["chunked", "int32"],
        ["contiguous", "int32"],
        ["zarr", "int32"],
        ["", "int64"],
        ["gzip", "int64"],
        ["zarr", "int64"],
      ];
      for (const [kind, itype] of cases) {
        const path = `${dir}/big${kind}${itype}.${kind === "zarr" ? "zarr" : "h5ad"}`;
        const read = kind === "zarr" ? readZarr : readH5ad;
        await python(
          `import sys, numpy as np, scipy.sparse as sp, anndata as ad
n, m, per = 60000, 50, 50
ind = np.tile(np.arange(per, dtype=sys.argv[3]), n)
X = sp.csr_matrix((np.ones(n * per, np.float32), ind, np.arange(n + 1) * per), shape=(n, m))
X.indices = X.indices.astype(sys.argv[3])  # scipy keeps int32 where the values fit
a = ad.AnnData(X=X)
if sys.argv[2] == "zarr":
    a.write_zarr(sys.argv[1])
else:
    a.write_h5ad(sys.argv[1], compression=sys.argv[2] if sys.argv[2] == "gzip" else None)
if sys.argv[2] in ("chunked", "contiguous"):
    # uncompressed chunks (the last one partly past the end), or one contiguous
    # block (anndata 0.8 writes chunks of its own)
    import h5py
    with h5py.File(sys.argv[1], "a") as f:
        d = f["X/indices"][:]
        del f["X/indices"]
        f.create_dataset("X/indices", data=d, chunks=(100007,) if sys.argv[2] == "chunked" else None)
        assert (f["X/indices"].chunks is None) == (sys.argv[2] == "contiguous")`,
          path,
          kind,
          itype,
        );
        const wide = wideChecks.parts;
        const whole = await read(path);
        // int64: checked part by part as they landed (not by the matrix, after).
        if (itype === "int64") assert(wideChecks.parts > wide, "the wide watch saw the indices");
        assertEquals(whole.X?.shape, [60000, 50]);
        const indices = (whole.X as CsrMatrix).indices;
        assert(
          itype === "int64" ? indices instanceof BigInt64Array : indices instanceof Int32Array,
        );
        const set = `import sys
if sys.argv[1].endswith(".zarr"):
    import zarr; zarr.open(sys.argv[1] + "/X/indices", "r+")[int(sys.argv[2])] = int(sys.argv[3])
else:
    import h5py
    with h5py.File(sys.argv[1], "a") as f: f["X/indices"][int(sys.argv[2])] = int(sys.argv[3])`;
        // int64: -1 too (its bits as a float64 are NaN, see outside64).
        const bads: [number, string][] = [[2_345_678, "50"], [
          2_999_999,
          itype === "int64" ? "-1" : "50",
        ]];
        for (const [at, bad] of bads) {
          await python(set, path, String(at), bad);
          // Checked on the worker that read or decoded the chunk (zarr's names it): int32, and
          // gzip int64; else (uncompressed h5ad or zarr int64) as the parts land here.
          const where = kind === "zarr" && itype === "int32"
            ? /\/X\/indices, chunk \d+: a sparse index \(50\) is outside 0\.\.49/
            : itype === "int32" || kind === "gzip"
            ? new RegExp(`/X/indices: a sparse index \\(${bad}\\) is outside 0\\.\\.49`)
            : new RegExp(`/X: .*index ${bad} at entry ${at} is outside 0..49`);
          await assertRejects(() => read(path), CorruptFileError, where);
          await python(set, path, String(at), "0");
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a decreasing indptr in a planned read is a CorruptFileError naming the element, not a RangeError", () => {
  const plan = planIndptr([0, 1]);
  assertEquals(spanList(plan), [[0, 3]]);
  let err: unknown;
  try {
    planElements([0, 1], plan, [0, 5, 2], 10, `"a.h5ad": /X`);
  } catch (e) {
    err = e;
  }
  assert(
    err instanceof CorruptFileError &&
      /"a.h5ad": \/X: indptr\[1..2\] is 5..2, decreasing/.test(err.message),
    String(err),
  );
  assert(
    (() => {
      try {
        planElements([0], planIndptr([0]), [0, 11], 10, "X");
      } catch (e) {
        return e instanceof CorruptFileError;
      }
      return false;
    })(),
    "an indptr past nnz is refused",
  );
});

Deno.test("CsrMatrix refuses indices outside its columns and a decreasing indptr, so toDense() never drops an entry", () => {
  const data = new Float32Array([1, 2]);
  assertEquals(
    new CsrMatrix(data, new Int32Array([0, 2]), new Int32Array([0, 1, 2]), [2, 3]).toDense().data,
    new Float32Array([1, 0, 0, 0, 0, 2]),
  );
  let e: unknown;
  try {
    new CsrMatrix(data, new Int32Array([0, 3]), new Int32Array([0, 1, 2]), [2, 3]);
  } catch (x) {
    e = x;
  }
  assert(
    e instanceof ValidationError && /index 3 at entry 1 is outside 0..2/.test(e.message),
    String(e),
  );
  e = undefined;
  try {
    new CsrMatrix(data, new Int32Array([0, 1]), new Int32Array([0, 2, 1, 2]), [3, 3]);
  } catch (x) {
    e = x;
  }
  assert(e instanceof ValidationError && /indptr decreases at 1/.test(e.message), String(e));
});

Deno.test({
  name:
    "zarr damage is a typed error naming the element: random chunk bytes, a truncated chunk, invalid JSON in .zattrs, an unknown codec, a shape of 2^40",
  ...py,
  async fn() {
    const cases: [string, (dir: string) => Promise<void>, RegExp, typeof CorruptFileError][] = [
      [
        "random",
        async (d) => {
          await Deno.writeFile(
            `${d}/X/data/0`,
            Uint8Array.from({ length: 333 }, (_, i) => (i * 73) & 255),
          );
        },
        /\/X\/data/,
        CorruptFileError,
      ],
      [
        "truncated",
        async (d) => {
          await Deno.truncate(`${d}/var/mean/0`, 20);
        },
        /\/var\/mean/,
        CorruptFileError,
      ],
      [
        "zattrs",
        async (d) => {
          await Deno.writeTextFile(`${d}/X/.zattrs`, '{"encoding-type": "csr_matrix", ');
        },
        /\/X/,
        CorruptFileError,
      ],
      [
        "codec",
        async (d) => {
          const m = JSON.parse(await Deno.readTextFile(`${d}/X/indices/.zarray`));
          m.compressor = { id: "nosuchcodec" };
          await Deno.writeTextFile(`${d}/X/indices/.zarray`, JSON.stringify(m));
        },
        /\/X\/indices.* is compressed with (numcodecs\.)?nosuchcodec/,
        UnsupportedFormatError,
      ],
      [
        "shape",
        async (d) => {
          const m = JSON.parse(await Deno.readTextFile(`${d}/obs/n_genes/.zarray`));
          m.shape = [2 ** 40];
          await Deno.writeTextFile(`${d}/obs/n_genes/.zarray`, JSON.stringify(m));
        },
        /\/obs\/n_genes claims shape \[1099511627776\]/,
        CorruptFileError,
      ],
    ];
    for (const [what, damage, re, cls] of cases) {
      const dir = await copy("csr.zarr");
      await damage(dir);
      await assertRejects(() => readZarr(dir), cls, re).catch((e) => {
        throw new Error(`${what}: ${e.message}`);
      });
    }
  },
});

Deno.test({
  name:
    "a sparse X group without its shape or encoding-type attribute is a CorruptFileError from backed() and stream(), not a TypeError or a missing X",
  ...py,
  async fn() {
    const path = await copy("csr.h5ad");
    await python(
      `import sys, h5py\nwith h5py.File(sys.argv[1], "a") as f: del f["X"].attrs["shape"]`,
      path,
    );
    await withFile(path, async (f) => {
      await assertRejects(
        () => f.backed(),
        CorruptFileError,
        /\/X is a csr_matrix without a valid shape/,
      );
      await assertRejects(
        () => f.stream(),
        CorruptFileError,
        /\/X is a csr_matrix without a valid shape/,
      );
    });
    const noEncoding = await copy("csr.h5ad");
    await python(
      `import sys, h5py\nwith h5py.File(sys.argv[1], "a") as f: del f["X"].attrs["encoding-type"]`,
      noEncoding,
    );
    await withFile(noEncoding, async (f) => {
      const re = /\/X is a group with encoding-type undefined/;
      await assertRejects(() => f.load(), CorruptFileError, /\/X has encoding-type undefined/);
      await assertRejects(() => f.backed(), CorruptFileError, re);
      await assertRejects(() => f.stream(), CorruptFileError, re);
    });
  },
});

Deno.test({
  name: "a PNG with one flipped bit fails its CRC: CorruptFileError, not a different image",
  ...py,
  async fn() {
    const path = await copy("image.png");
    const b = await Deno.readFile(path);
    b[b.length - 40] ^= 4;
    await Deno.writeFile(path, b);
    await assertRejects(() => ln.readImage(path), CorruptFileError, /fails its CRC/);
  },
});

Deno.test({
  name: "streamed rows of a zarr X with an index outside the columns: a CorruptFileError naming " +
    "the chunk (checked where decoded); rows without it stream",
  ...py,
  async fn() {
    const dir = await tempDir();
    const root = await tempDir();
    try {
      const path = `${dir}/big.zarr`;
      await python(
        `import sys, numpy as np, pandas as pd, scipy.sparse as sp, anndata as ad, zarr
n, m, per = 60000, 50, 50
ind = np.tile(np.arange(per, dtype=np.int32), n)
X = sp.csr_matrix((np.ones(n * per, np.float32), ind, np.arange(n + 1) * per), shape=(n, m))
ad.AnnData(X=X, obs=pd.DataFrame({"k": np.arange(n)}, index=[str(i) for i in range(n)])).write_zarr(sys.argv[1])
zarr.open(sys.argv[1] + "/X/indices", "r+")[2_345_678] = 50  # row 46,913`,
        path,
      );
      await ln.init({ storage: root });
      const file = await new ln.File(path).save();
      const df = file.subsetter();
      const fine = await file.stream({ subsetObs: df.k.lt(1000), isRunInput: false });
      assertEquals(fine.X?.shape, [1000, 50]);
      for (const q of [df.k.eq(46913), df.k.ge(46000).and(df.k.lt(48000))]) {
        await assertRejects(
          () => file.stream({ subsetObs: q, isRunInput: false }),
          ln.CorruptFileError,
          /\/X\/indices, chunk \d+: a sparse index \(50\) is outside 0\.\.49/,
        );
      }
    } finally {
      await ln.close();
      await Deno.remove(dir, { recursive: true });
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("a zarr chunk that cannot be read (a link loop) is a StorageError, never its fill value in its place", async () => {
  const dir = await tempDir();
  const pl = (await import("nodejs-polars")).default;
  const a = new ln.AnnData({
    X: new ln.DenseMatrix(new Float32Array(8).fill(1), [4, 2]),
    obs: pl.DataFrame({ b: [true, true, false, true] }),
  });
  await ln.writeZarr(a, `${dir}/a.zarr`);
  assertEquals((await readZarr(`${dir}/a.zarr`)).obs.getColumn("b").toArray(), [
    true,
    true,
    false,
    true,
  ]);
  const chunks = [...Deno.readDirSync(`${dir}/a.zarr/obs/b`)].filter((e) =>
    !e.name.startsWith(".")
  );
  assertEquals(chunks.length, 1);
  const chunk = `${dir}/a.zarr/obs/b/${chunks[0].name}`;
  await Deno.remove(chunk);
  await Deno.symlink(chunks[0].name, chunk); // itself: ELOOP
  await assertRejects(() => readZarr(`${dir}/a.zarr`), ln.StorageError, /obs\/b/);
  // Stored (read through the storage backend), streamed and loaded alike.
  await ln.init({ storage: `${dir}/store` });
  try {
    await Deno.remove(chunk);
    await ln.writeZarr(a, `${dir}/b.zarr`);
    const f = await new ln.File(`${dir}/b.zarr`, { key: "b.zarr" }).save();
    const stored = `${dir}/store/b.zarr/obs/b/${chunks[0].name}`;
    await Deno.remove(stored);
    await Deno.symlink(chunks[0].name, stored);
    await assertRejects(() => f.stream(), ln.StorageError);
    await assertRejects(() => f.load(), ln.StorageError);
  } finally {
    await ln.close();
    await Deno.remove(dir, { recursive: true });
  }
});
