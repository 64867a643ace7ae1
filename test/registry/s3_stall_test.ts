// An S3 instance whose server stops answering (s3rver behind a proxy that
// stops forwarding, the stand-in for `kill -STOP`): stream() and load() give
// a StorageError naming the object within the configured timeouts instead of
// hanging, and a server that stalls once is ridden out by the retries.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import { assert, assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { s3Server } from "../_s3.ts";
import { stallProxy, within } from "../storage/_stall_proxy.ts";

const TIMEOUT = 300, RETRIES = 1, DELAY = 20;
const BOUND = TIMEOUT * (RETRIES + 1) + DELAY * 4 + 3000;

function adata(): ln.AnnData {
  const nObs = 2000, nVars = 50, perRow = 5;
  const data = new Float32Array(nObs * perRow).map((_, i) => i);
  const indices = new Int32Array(nObs * perRow).map((_, i) => (i % perRow) * 10);
  const indptr = new Int32Array(nObs + 1).map((_, i) => i * perRow);
  return new ln.AnnData({
    X: new ln.CsrMatrix(data, indices, indptr, [nObs, nVars]),
    obs: pl.DataFrame({ depth: Array.from({ length: nObs }, (_, i) => i) }),
    obsNames: Array.from({ length: nObs }, (_, i) => `c${i}`),
    varNames: Array.from({ length: nVars }, (_, j) => `g${j}`),
  });
}

async function timed(fn: () => Promise<unknown>): Promise<{ err: Error; ms: number }> {
  const t0 = performance.now();
  const err = await assertRejects(() => within(2 * BOUND, fn()), ln.StorageError);
  return { err, ms: performance.now() - t0 };
}

Deno.test({
  name: "stream() and load() from an S3 instance whose server stops answering give a " +
    "StorageError naming the object within the timeouts; a stall that ends is retried through",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await s3Server();
    await using proxy = stallProxy(server.options.endpoint!);
    const dir = await tempDir();
    const storage = `s3://${await server.bucket()}/stall`;
    try {
      const open = (timeoutMs: number, retries: number) =>
        ln.init({
          storage,
          db: `${dir}/r.db`,
          cacheDir: `${dir}/cache`,
          s3: {
            ...server.options,
            endpoint: proxy.endpoint,
            timeoutMs,
            retries,
            retryDelayMs: DELAY,
          },
        });
      await open(TIMEOUT, RETRIES);
      const f = await new ln.File(adata(), { key: "atlas.h5ad" }).save();
      const q = () => f.subsetter().depth.isin([1, 1999]);
      assertEquals((await f.stream({ subsetObs: q() })).nObs, 2);

      proxy.stall();
      const s = await timed(() => f.stream({ subsetObs: q() }));
      assert(
        /could not (read|stat) s3:\/\/.+\/stall\/atlas\.h5ad: /.test(s.err.message),
        s.err.message,
      );
      assert(s.ms < BOUND, `stream() gave up after ${s.ms} ms`);
      await Deno.remove(`${dir}/cache`, { recursive: true }).catch(() => {});
      const l = await timed(() => f.load());
      assert(/s3:\/\/.+\/stall\/atlas\.h5ad/.test(l.err.message), l.err.message);
      assert(l.ms < BOUND, `load() gave up after ${l.ms} ms`);

      // Frozen for one request, then answering again: the retry carries the
      // read. Reopened with room for a slow machine: the first attempt is
      // abandoned after its timeout, the next ones must finish a real read.
      proxy.resume();
      await ln.close();
      await open(2000, 3);
      const again = await ln.File.get({ key: "atlas.h5ad" });
      proxy.stall({ afterBytes: 200, untilAbandoned: true });
      const sub = await again.stream({ subsetObs: again.subsetter().depth.isin([1, 1999]) });
      assertEquals(sub.obsNames, ["c1", "c1999"]);
      assertEquals(proxy.abandoned >= 1, true, `abandoned ${proxy.abandoned}`);
    } finally {
      await ln.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});
