import { CountingStorage, LocalStorage, ValidationError } from "../../mod.ts";
import { assertEquals, assertRejects, tempDir } from "../_helpers.ts";
import { storageContract } from "./contract.ts";

storageContract("CountingStorage(LocalStorage)", async () => {
  const dir = await tempDir();
  return {
    store: new CountingStorage(new LocalStorage(dir)),
    cleanup: () => Deno.remove(dir, { recursive: true }),
  };
});

Deno.test("CountingStorage counts bytes read by range and by stream, and requests", async () => {
  const dir = await tempDir();
  const s = new CountingStorage(new LocalStorage(dir));
  await s.put("x", new Uint8Array(1000));
  await s.getRange("x", 100, 50);
  await new Response(await s.get("x")).arrayBuffer();
  assertEquals(s.stats, { bytesRead: 1050, bytesWritten: 1000, requests: 3 });
  s.reset();
  assertEquals(s.stats, { bytesRead: 0, bytesWritten: 0, requests: 0 });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("new CountingStorage() refuses what is not a storage backend, and bad options", async () => {
  for (const inner of [null, undefined, 5, "dir", {}, { capabilities: {} }]) {
    await assertRejects(
      () => new CountingStorage(inner as never),
      ValidationError,
      /inner is a storage backend/,
    );
  }
  const dir = await tempDir();
  for (const options of [null, 5, { onRead: 5 }, { bogus: 1 }]) {
    await assertRejects(
      () => new CountingStorage(new LocalStorage(dir), options as never),
      ValidationError,
      /options is \{ onRead/,
    );
  }
  await Deno.remove(dir, { recursive: true });
});
