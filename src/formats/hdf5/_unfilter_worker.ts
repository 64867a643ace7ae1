// A worker of the unfilter pool (_unfilter_pool.ts): undoes the filters of
// the chunks it is sent (HDF5 filters, or blosc) and sends their bytes back
// (transferred).
import { parentPort } from "node:worker_threads";
import { CorruptFileError } from "../../errors.ts";
import { decodeBlosc } from "../_blosc.ts";
import { unfilter } from "./_filters.ts";
import { picked } from "./_pick.ts";
import type { BloscJob, UnfilterJob } from "./_unfilter_pool.ts";

type Job = Omit<UnfilterJob, "bytes"> | Omit<BloscJob, "bytes">;

function undo(bytes: Uint8Array, j: Job): Uint8Array {
  if ("blosc" in j) {
    // Rows picked out of a chunk: decoded into memory kept for the next
    // chunk (no fresh memory to fault in), only the picked bytes sent.
    const out = decodeBlosc(bytes, j.blosc.cap, j.pick !== undefined);
    if (!out) throw new CorruptFileError("the blosc chunk uses a codec the worker does not decode");
    if (!j.pick) return out;
    const p = picked(out, j.pick);
    return p === out ? out.slice() : p;
  }
  return picked(unfilter(bytes, j.filters, j.mask, j.ctx), j.pick, j.ctx.where);
}

// Bytes travel as bare ArrayBuffers: Deno's worker_threads walks every key
// of a message, and a typed array's keys are its elements.
parentPort!.on("message", (msg: { id: number; buffers: ArrayBuffer[]; jobs: Job[] }) => {
  try {
    const lengths: number[] = [];
    const out = msg.jobs.map((j, i) => {
      let b = undo(new Uint8Array(msg.buffers[i]), j);
      // Transferred with its length: a buffer that is the output's own (an
      // inflate output is one byte longer: see _filters.ts); a pooled or
      // shared one is copied first.
      if (b.byteOffset !== 0 || b.buffer.byteLength - b.byteLength > 64) b = b.slice();
      lengths.push(b.byteLength);
      return b.buffer as ArrayBuffer;
    });
    parentPort!.postMessage({ id: msg.id, out, lengths }, out);
  } catch (e) {
    const err = e as Error;
    parentPort!.postMessage({ id: msg.id, error: { name: err.name, message: err.message } });
  }
});
