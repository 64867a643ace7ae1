// Public https:// objects registered in place in a read-only HttpStorage
// (the third backend), loaded and streamed by range requests. A real HTTP
// server on 127.0.0.1 serves the files.
import pl from "nodejs-polars";
import * as ln from "../../mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  freshInstance,
  HEALTHY,
  tempDir,
} from "../_helpers.ts";
import { httpServer } from "../_http_server.ts";

function atlas(n: number): ln.AnnData {
  const nVars = 50;
  const x = new Float32Array(n * nVars);
  for (let i = 0; i < x.length; i++) x[i] = (i * 7919) % 13;
  return new ln.AnnData({
    X: new ln.DenseMatrix(x, [n, nVars]),
    obs: pl.DataFrame({
      donor: Array.from({ length: n }, (_, i) => `D${i % 5}`),
      n_genes: Array.from({ length: n }, (_, i) => i),
    }),
    obsNames: Array.from({ length: n }, (_, i) => `cell${i}`),
    varNames: Array.from({ length: nVars }, (_, i) => `g${i}`),
  });
}

Deno.test("new File('https://…/atlas.h5ad') registers the object in place and stream() reads only the selection", async () => {
  const dir = await tempDir();
  const adata = atlas(20_000);
  await ln.writeH5ad(adata, `${dir}/atlas.h5ad`);
  const bytes = await Deno.readFile(`${dir}/atlas.h5ad`);
  await using server = httpServer({ dir });
  const root = await freshInstance();
  try {
    const url = `${server.url}/atlas.h5ad`;
    const file = await new ln.File(url).save();
    assertEquals(file.key, "atlas.h5ad");
    assertEquals(file.hash, ln.hashBytes(bytes));
    assertEquals(file.size, bytes.length);
    assertEquals(file.storage?.type, "http");
    assertEquals(file.storage?.root, server.url);
    assertEquals(file.path(), url);
    // Saving the same URL again finds the same record.
    assertEquals((await new ln.File(url).save()).id, file.id);

    const io = { bytesRead: 0, requests: 0 };
    const before = server.requests;
    const df = file.subsetter();
    const sub = await file.stream({ subsetObs: df.n_genes.lt(40), io });
    assertEquals(sub.nObs, 40);
    assertEquals(sub.obsNames.slice(0, 2), ["cell0", "cell1"]);
    const dense = sub.X!.toDense();
    assertEquals(
      [...dense.data.slice(0, 50)].map(Number),
      [...adata.X!.toDense().data.slice(0, 50)].map(Number),
    );
    assert(server.requests > before, "stream() must read through HTTP range requests");
    assert(
      io.bytesRead < bytes.length / 4,
      `a 0.2% selection read ${io.bytesRead} of ${bytes.length} bytes`,
    );

    // load() reads through the cache; the copy in the root is untouched.
    const loaded = await file.load() as ln.AnnData;
    assertEquals(loaded.shape, [20_000, 50]);

    // Reopened: the storage is mounted again from its record.
    await ln.close();
    await ln.init({ storage: root });
    const again = await ln.File.get(file.id);
    assertEquals((await again.stream({ subsetObs: again.subsetter().n_genes.eq(7) })).nObs, 1);

    // Read-only: replace is refused and changes nothing; delete drops the record only.
    await assertRejects(
      () => again.replace(new TextEncoder().encode("x")),
      ln.StorageError,
      /read-only/,
    );
    assertEquals((await ln.File.get(file.id)).hash, file.hash);
    await again.delete();
    assertEquals(await ln.File.filter({ id: file.id }), []);
    assertEquals((await fetch(url).then((r) => r.arrayBuffer())).byteLength, bytes.length);
    assertEquals(await ln.fsck(), HEALTHY);
  } finally {
    await ln.close();
  }
});

Deno.test("https:// URLs that cannot be registered are refused with typed errors, and nothing is written", async () => {
  await using server = httpServer();
  server.files.set("a.csv", new TextEncoder().encode("a\n1\n"));
  await freshInstance();
  try {
    await assertRejects(
      () => new ln.File(`${server.url.replace("://", "://user:secret@")}/a.csv`).save(),
      ln.ValidationError,
      /credentials/,
    );
    await assertRejects(
      () => new ln.File(`${server.url}/a.csv?sig=abc`).save(),
      ln.ValidationError,
    );
    await assertRejects(() => new ln.File(`${server.url}/missing.csv`).save(), ln.NotFoundError);
    await assertRejects(
      () => new ln.File(`${server.url}/a.csv`, { key: "b.csv" }).save(),
      ln.ValidationError,
    );
    await assertRejects(() => new ln.File("ftp://host/a.csv").save(), ln.StorageError);
    assertEquals(await ln.File.filter({}), []);
    const ok = await new ln.File(new URL(`${server.url}/a.csv`)).save();
    assertEquals(((await ok.load()) as ln.DataFrame).height, 1);
  } finally {
    await ln.close();
  }
});
