// A worker of the unfilter pool (_unfilter_pool.ts): undoes the filters of
// the chunks it is sent (HDF5 filters, or blosc) and sends their bytes back
// (transferred).
import { parentPort } from "node:worker_threads";
import { CorruptFileError } from "../../errors.ts";
import { decodeBlosc } from "../_blosc.ts";
import { unfilter } from "./_filters.ts";
import type { BloscJob, UnfilterJob } from "./_unfilter_pool.ts";

type Job = Omit<UnfilterJob, "bytes"> | Omit<BloscJob, "bytes">;

function undo(bytes: Uint8Array, j: Job): Uint8Array {
  if ("blosc" in j) {
    const out = decodeBlosc(bytes, j.blosc.cap);
    if (!out) throw new CorruptFileError("the blosc chunk uses a codec the worker does not decode");
    return out;
  }
  return unfilter(bytes, j.filters, j.mask, j.ctx);
}

// Bytes travel as bare ArrayBuffers: Deno's worker_threads walks every key
// of a message, and a typed array's keys are its elements.
parentPort!.on("message", (msg: { id: number; buffers: ArrayBuffer[]; jobs: Job[] }) => {
  try {
    const out = msg.jobs.map((j, i) => {
      const b = undo(new Uint8Array(msg.buffers[i]), j);
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
