import { createHash, type Hash } from "node:crypto";

/** Size and md5 of some bytes; `hash` is base64url without padding (22 chars). */
export interface HashResult {
  /** Number of bytes hashed. */
  size: number;
  /** md5, base64url, no padding: 22 characters. */
  hash: string;
}

/** An incremental md5 that also counts bytes. */
export class Md5 {
  #h: Hash = createHash("md5");
  #size = 0;
  /** Add bytes. */
  update(chunk: Uint8Array): void {
    this.#h.update(chunk);
    this.#size += chunk.byteLength;
  }
  /** Finish; the object cannot be updated afterwards. */
  digest(): HashResult {
    return { size: this.#size, hash: this.#h.digest("base64url") };
  }
}

/**
 * md5 of `data` as lamindb writes it: base64url without padding, 22 chars.
 *
 * @example The API's test vectors
 * ```ts
 * import { hashBytes } from "@lamindeno/lamindb";
 * const enc = new TextEncoder();
 * console.assert(hashBytes(enc.encode("a")) === "DMF1ucDxtqgxw5niaXcmYQ");
 * console.assert(hashBytes(new Uint8Array()) === "1B2M2Y8AsgTpgAmY7PhCfg");
 * ```
 */
export function hashBytes(data: Uint8Array): string {
  return createHash("md5").update(data).digest("base64url");
}

/** Hash a stream once, without holding it in memory; `progress.add` is told each chunk's bytes. */
export async function hashStream(
  stream: ReadableStream<Uint8Array>,
  progress?: { add(bytes: number): void },
): Promise<HashResult> {
  const md5 = new Md5();
  for await (const chunk of stream) {
    md5.update(chunk);
    progress?.add(chunk.byteLength);
  }
  return md5.digest();
}

const READ_BUFFER = 4 * 1024 * 1024;

/**
 * Hash a local file with large sequential reads (as fast as md5 itself);
 * `progress.add` is told the bytes of each read.
 */
export async function hashFile(
  path: string,
  progress?: { add(bytes: number): void },
): Promise<HashResult> {
  using f = await Deno.open(path, { read: true });
  const md5 = new Md5();
  // Small files get small buffers: allocating 4 MiB per file dominates when
  // thousands of small files are registered.
  const { size } = await f.stat();
  const len = Math.min(READ_BUFFER, Math.max(size, 0) + 1);
  // Two buffers: the next read runs (off the main thread) while this chunk is hashed.
  const bufs = [new Uint8Array(len), new Uint8Array(len)];
  let which = 0;
  let pending = f.read(bufs[0]);
  for (;;) {
    const n = await pending;
    if (n === null) break;
    const buf = bufs[which];
    which ^= 1;
    pending = f.read(bufs[which]);
    md5.update(buf.subarray(0, n));
    progress?.add(n);
  }
  return md5.digest();
}

/**
 * The hash of a directory (e.g. a `.zarr` store), derived from its files:
 * md5 (base64url, 22 chars) of the UTF-8 text `"lamindeno-dir-v1\n"`
 * followed by one line `"{relative path}\t{file md5}\n"` per file, sorted by
 * relative path (UTF-16 code unit order). Renaming, adding or changing a file
 * changes the hash; an empty directory does not hash like an empty file.
 */
export function hashDirectory(entries: { path: string; hash: string }[]): string {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash("md5").update("lamindeno-dir-v1\n");
  for (const e of sorted) h.update(`${e.path}\t${e.hash}\n`);
  return h.digest("base64url");
}
