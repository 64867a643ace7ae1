import { CountingStorage, LocalStorage } from "../../mod.ts";
import { assertEquals, tempDir } from "../_helpers.ts";
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
