import { createHash, type Hash } from "node:crypto";
import * as rt from "../_runtime.ts";
import { ValidationError } from "../errors.ts";

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
 * A `ValidationError` unless `data` is a `Uint8Array` (encode text first
 * with `TextEncoder`; wrap an `ArrayBuffer` in `new Uint8Array(buffer)`).
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
  if (!(data instanceof Uint8Array)) {
    throw new ValidationError(
      `hashBytes(data): data is a Uint8Array, got ${what(data)}; ` +
        `encode text with new TextEncoder().encode(text), wrap a buffer in new Uint8Array(buffer)`,
    );
  }
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
  const f = await rt.openFile(path, "r");
  try {
    const md5 = new Md5();
    // Small files get small buffers: allocating 4 MiB per file dominates when
    // thousands of small files are registered.
    const { size } = await f.stat();
    const len = Math.min(READ_BUFFER, Math.max(size, 0) + 1);
    // Two buffers: the next read runs (off the main thread) while this chunk is hashed.
    const bufs = [new Uint8Array(len), new Uint8Array(len)];
    let which = 0;
    let position = 0;
    const next = (buf: Uint8Array) => f.read(buf, 0, buf.length, position).then((r) => r.bytesRead);
    let pending = next(bufs[0]);
    for (;;) {
      const n = await pending;
      if (n === 0) break;
      position += n;
      const buf = bufs[which];
      which ^= 1;
      pending = next(bufs[which]);
      md5.update(buf.subarray(0, n));
      progress?.add(n);
    }
    return md5.digest();
  } finally {
    await f.close();
  }
}

/**
 * The hash of a directory (e.g. a `.zarr` store), derived from its files:
 * md5 (base64url, 22 chars) of the UTF-8 text `"lamindeno-dir-v1\n"`
 * followed by one line `"{relative path}\t{file md5}\n"` per file, sorted by
 * relative path (UTF-16 code unit order). Renaming, adding or changing a file
 * changes the hash; an empty directory does not hash like an empty file.
 * A `ValidationError` unless `entries` is an array of `{ path, hash }`
 * strings.
 */
export function hashDirectory(entries: { path: string; hash: string }[]): string {
  if (!Array.isArray(entries)) {
    throw new ValidationError(
      `hashDirectory(entries): entries is an array of { path, hash }, got ${what(entries)}`,
    );
  }
  entries.forEach((e, i) => {
    const r = e as unknown as Record<string, unknown> | null;
    if (
      typeof r !== "object" || r === null || typeof r.path !== "string" ||
      typeof r.hash !== "string"
    ) {
      throw new ValidationError(
        `hashDirectory(entries): entries[${i}] is { path: string, hash: string }, got ${what(e)}`,
      );
    }
  });
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const h = createHash("md5").update("lamindeno-dir-v1\n");
  for (const e of sorted) h.update(`${e.path}\t${e.hash}\n`);
  return h.digest("base64url");
}

/** What `v` is, for messages: its class's name or its type (never its value). */
function what(v: unknown): string {
  return v === null
    ? "null"
    : typeof v === "object"
    ? (Object.getPrototypeOf(v)?.constructor?.name ?? "an object")
    : typeof v;
}
