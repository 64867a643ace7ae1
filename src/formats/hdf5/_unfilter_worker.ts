// A worker of the unfilter pool (_unfilter_pool.ts): undoes the filters of
// the chunks it is sent and sends their bytes back (transferred).
import { parentPort } from "node:worker_threads";
import { unfilter } from "./_filters.ts";
import type { UnfilterJob } from "./_unfilter_pool.ts";

type Job = Omit<UnfilterJob, "bytes">;

// Bytes travel as bare ArrayBuffers: Deno's worker_threads walks every key
// of a message, and a typed array's keys are its elements.
parentPort!.on("message", (msg: { id: number; buffers: ArrayBuffer[]; jobs: Job[] }) => {
  try {
    const out = msg.jobs.map((j, i) => {
      const b = unfilter(new Uint8Array(msg.buffers[i]), j.filters, j.mask, j.ctx);
      // A pooled or shared buffer cannot be transferred whole: copy it.
      return (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b : b.slice())
        .buffer as ArrayBuffer;
    });
    parentPort!.postMessage({ id: msg.id, out }, out);
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: msg.id, error: { name: err.name, message: err.message } });
  }
});
