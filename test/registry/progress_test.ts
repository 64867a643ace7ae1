// Progress of large transfers: onProgress sequences of save, stage, load
// and stream (local and S3), the bar on a pseudo-terminal and its absence
// without one, and ln.settings.verbosity.
import { fileURLToPath as fromFileUrl } from "node:url";
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, tempDir, writeRandomFile } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";

const SIZE = 20_000_000;

/** The reports of each phase, in the order the phases came. */
function recorder() {
  const seen: ln.Progress[] = [];
  const phases = () => [...new Set(seen.map((p) => p.phase))];
  const of = (phase: ln.ProgressPhase) => seen.filter((p) => p.phase === phase);
  return { onProgress: (p: ln.Progress) => seen.push({ ...p }), seen, phases, of };
}

/** Reports of one phase rise strictly, each total is `size`, and the last one is done. */
function assertRisesTo(reports: ln.Progress[], size: number, what: string): void {
  assert(reports.length >= 2, `${what}: ${reports.length} reports; expected several`);
  for (let i = 1; i < reports.length; i++) {
    assert(
      reports[i].done > reports[i - 1].done,
      `${what}: ${reports[i - 1].done} then ${reports[i].done}`,
    );
  }
  assert(reports.every((r) => r.total === size), `${what}: a total other than ${size}`);
  assertEquals(reports.at(-1)!.done, size, `${what} ends at the size`);
}

Deno.test("saving a 20 MB file reports hashing then copying, each rising to its size", async () => {
  const outside = await tempDir();
  const root = await tempDir();
  try {
    await writeRandomFile(`${outside}/big.bin`, SIZE);
    await ln.init({ storage: root });
    const r = recorder();
    const file = await new ln.File(`${outside}/big.bin`, { key: "big.bin" }).save({
      onProgress: r.onProgress,
    });
    assertEquals(file.size, SIZE);
    assertEquals(r.phases(), ["hash", "copy"]);
    assertRisesTo(r.of("hash"), SIZE, "hash");
    assertRisesTo(r.of("copy"), SIZE, "copy");
    // Saved again: same content, hashed only (nothing to copy).
    const again = recorder();
    await new ln.File(`${outside}/big.bin`).save({ onProgress: again.onProgress });
    assertEquals(again.phases(), ["hash"]);
    // A local file needs no staging: stage and load report nothing.
    const staged = recorder();
    await file.stage({ onProgress: staged.onProgress });
    assertEquals(staged.seen, []);
  } finally {
    await ln.close();
    await Deno.remove(outside, { recursive: true });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a bad onProgress or verbosity is refused with ValidationError", async () => {
  const root = await tempDir();
  try {
    await ln.init({ storage: root });
    const f = new ln.File(new Uint8Array([1]), { key: "one.bin" });
    // deno-lint-ignore no-explicit-any
    await assertRejects(() => f.save({ onProgress: 3 as any }), ln.ValidationError, /function/);
    assert(!f.isSaved);
    await assertRejects(
      // deno-lint-ignore no-explicit-any
      () => (ln.settings.verbosity = "loud" as any),
      ln.ValidationError,
      /"warning"/,
    );
    assertEquals(ln.settings.verbosity, "info");
  } finally {
    await ln.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name: "on S3, save reports hashing and uploading, stage and load the download, stream the reads",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    const bucket = await server.bucket();
    const dir = await tempDir();
    try {
      await writeRandomFile(`${dir}/big.bin`, SIZE);
      await ln.init({ storage: `s3://${bucket}/p`, s3: server.options, cacheDir: `${dir}/cache` });
      const r = recorder();
      const file = await new ln.File(`${dir}/big.bin`, { key: "big.bin" }).save({
        onProgress: r.onProgress,
      });
      assertEquals(r.phases(), ["hash", "upload"]);
      assertRisesTo(r.of("hash"), SIZE, "hash");
      assertRisesTo(r.of("upload"), SIZE, "upload");
      // An object already in the bucket is registered in place: hashed as it streams by.
      await writeRandomFile(`${dir}/other.bin`, SIZE);
      const { S3Client, PutObjectCommand } = await import("@aws-sdk/client-s3");
      const client = new S3Client(server.options);
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: "p/in-place.bin",
          Body: await Deno.readFile(`${dir}/other.bin`),
        }),
      );
      client.destroy();
      const inPlace = recorder();
      await new ln.File(`s3://${bucket}/p/in-place.bin`).save({ onProgress: inPlace.onProgress });
      assertEquals(inPlace.phases(), ["hash"]);
      assertRisesTo(inPlace.of("hash"), SIZE, "in-place hash");

      const staged = recorder();
      const path = await file.stage({ onProgress: staged.onProgress });
      assertEquals((await Deno.stat(path)).size, SIZE);
      assertEquals(staged.phases(), ["stage"]);
      assertRisesTo(staged.seen, SIZE, "stage");
      // Cached now: one report that it is all there.
      const cached = recorder();
      await file.stage({ onProgress: cached.onProgress });
      assertEquals(cached.seen, [{ phase: "stage", done: SIZE, total: SIZE }]);

      const table = await new ln.File(new TextEncoder().encode("a,b\n1,2\n"), { key: "t.csv" })
        .save();
      const loaded = recorder();
      const t = await table.load({ as: "dataframe", onProgress: loaded.onProgress });
      assertEquals(t.height, 1);
      assertEquals(loaded.seen.at(-1), { phase: "download", done: 8, total: 8 });

      // stream: the bytes read as they arrive; the last report's total is what was read.
      const n = 3000;
      const adata = new ln.AnnData({
        X: new ln.CsrMatrix(
          Float32Array.from({ length: n }, (_, i) => i),
          new Int32Array(n),
          Int32Array.from({ length: n + 1 }, (_, i) => i),
          [n, 1],
        ),
        obs: pl.DataFrame({ g: Array.from({ length: n }, (_, i) => `g${i % 3}`) }),
      });
      const h5 = await new ln.File(adata, { key: "s.h5ad" }).save();
      const streamed = recorder();
      const io = { bytesRead: 0, requests: 0 };
      const sub = await h5.stream({
        subsetObs: h5.subsetter().g.eq("g1"),
        io,
        onProgress: streamed.onProgress,
      });
      assertEquals(sub.nObs, n / 3);
      assertEquals(streamed.phases(), ["download"]);
      const reads = streamed.seen;
      assert(reads.length >= 2, `${reads.length} reports`);
      for (let i = 1; i < reads.length; i++) assert(reads[i].done > reads[i - 1].done);
      assert(
        reads.every((p) => p.done <= p.total && p.total >= h5.size!),
        "total: at least the size",
      );
      assertEquals(reads.at(-1), { phase: "download", done: io.bytesRead, total: io.bytesRead });
    } finally {
      await ln.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const CHILD = fromFileUrl(new URL("./_progress_child.ts", import.meta.url));

async function runChild(cmd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(cmd, {
    args,
    env: { NO_COLOR: "1", LAMIN_LOG_LEVEL: "info", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert(out.success && text.includes("saved"), text);
  return text;
}

/** `deno run` of the child under a pseudo-terminal (util-linux `script`). */
function underPty(args: string[], env?: Record<string, string>) {
  const line = [Deno.execPath(), "run", "-A", CHILD, ...args].map((a) => `'${a}'`).join(" ");
  return runChild("script", ["-qefc", line, "/dev/null"], env);
}

const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "on a terminal, saving a large file draws bars with percent, MB/s and ETA",
  ignore: !hasScript,
  async fn() {
    const text = await underPty([]);
    assert(/hash \[[█░]{24}\] +\d+%/.test(text), `no hash bar in:\n${text}`);
    assert(/copy \[█{24}\] 100% +20\.0\/20\.0 MB +[\d.]+ MB\/s +in /.test(text), text);
    assert(/ETA \d+/.test(text) || text.split("\r").length > 2, text);
  },
});

Deno.test({
  name: "with verbosity below success, a terminal shows no bar",
  ignore: !hasScript,
  async fn() {
    const text = await underPty(["warning"]);
    assert(!/[█░]/.test(text), text);
  },
});

Deno.test("without a terminal, saving a large file prints no bar", async () => {
  const text = await runChild(Deno.execPath(), ["run", "-A", CHILD]);
  assert(!/[█░]|MB\/s|\r/.test(text), text);
});
