import { type CostModel, LOCAL_COST, REMOTE_COST } from "./cost_model.ts";
import type {
  ObjectInfo,
  PutData,
  PutOptions,
  PutResult,
  StorageBackend,
  StorageCapabilities,
} from "./storage.ts";
import { readObject } from "./storage.ts";
import { ValidationError } from "../errors.ts";
import { kindOf } from "../_display.ts";

/** What a wrapped backend must have. */
const BACKEND_METHODS = ["get", "getRange", "put", "head", "delete", "list", "uri"] as const;

/** I/O statistics kept by {@linkcode CountingStorage}. */
export interface IoStats {
  /** Bytes returned by `get` (as consumed) and `getRange`. */
  bytesRead: number;
  /** Bytes passed to `put`. */
  bytesWritten: number;
  /** Calls of `get`, `getRange`, `head`, `list`, `put` and `delete`. */
  requests: number;
}

/**
 * Middleware that counts the bytes and requests going through another
 * backend; benchmarks and streaming use it to report I/O.
 *
 * @example Count a range read
 * ```ts
 * import { CountingStorage, LocalStorage } from "@lamindeno/lamindb";
 * const store = new CountingStorage(new LocalStorage(await Deno.makeTempDir()));
 * await store.put("x", new Uint8Array(100));
 * await store.getRange("x", 10, 20);
 * console.assert(store.stats.bytesRead === 20 && store.stats.bytesWritten === 100);
 * ```
 */
export class CountingStorage implements StorageBackend {
  /** The counters; `reset()` zeroes them. */
  readonly stats: IoStats = { bytesRead: 0, bytesWritten: 0, requests: 0 };
  /** The wrapped backend. */
  readonly inner: StorageBackend;
  #onRead: ((bytes: number) => void) | undefined;
  /** As the inner backend's, where it has one (counted as one request). */
  readonly listFolders?: (prefix: string) => Promise<string[]>;

  /**
   * Wrap `inner`; `onRead` is told the bytes of each read as they are
   * counted. A `ValidationError` unless `inner` is a storage backend (an
   * object with `capabilities`, `get`, `getRange`, `put`, `head`, `delete`
   * and `list`) and `options` is `{ onRead? }`.
   */
  constructor(inner: StorageBackend, options: { onRead?: (bytes: number) => void } = {}) {
    const b = inner as unknown as Record<string, unknown> | null;
    const missing = typeof b !== "object" || b === null
      ? "capabilities"
      : typeof b.capabilities !== "object" || b.capabilities === null
      ? "capabilities"
      : BACKEND_METHODS.find((m) => typeof b[m] !== "function");
    if (missing) {
      throw new ValidationError(
        `new CountingStorage(inner): inner is a storage backend such as a LocalStorage, got ${
          kindOf(inner)
        } (without ${missing})`,
      );
    }
    const o = options as unknown;
    if (
      typeof o !== "object" || o === null || Array.isArray(o) ||
      Object.keys(o).some((k) => k !== "onRead") ||
      !["undefined", "function"].includes(typeof (o as { onRead?: unknown }).onRead)
    ) {
      throw new ValidationError(
        "new CountingStorage(inner, options): options is { onRead?: (bytes) => void }",
      );
    }
    this.inner = inner;
    this.#onRead = options.onRead;
    const folders = inner.listFolders?.bind(inner);
    if (folders) {
      this.listFolders = (prefix) => {
        this.stats.requests++;
        return folders(prefix);
      };
    }
  }
  /** The inner backend's capabilities (counting changes none of them). */
  get capabilities(): StorageCapabilities {
    return this.inner.capabilities;
  }
  /** The inner backend's root. */
  get root(): string {
    return this.inner.root;
  }
  /** Zero the counters. */
  reset(): void {
    this.stats.bytesRead = this.stats.bytesWritten = this.stats.requests = 0;
  }
  /** As the inner backend. */
  uri(key: string): string {
    return this.inner.uri(key);
  }
  /** As the inner backend. */
  localPath(key: string): string | undefined {
    return this.inner.localPath(key);
  }
  /** As the inner backend, counting bytes as the stream is consumed. */
  async get(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    this.stats.requests++;
    const s = await this.inner.get(key);
    if (!s) return undefined;
    const stats = this.stats;
    const onRead = this.#onRead;
    return s.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          stats.bytesRead += chunk.byteLength;
          onRead?.(chunk.byteLength);
          ctl.enqueue(chunk);
        },
      }),
    );
  }
  /** The inner backend's (its measuring reads are not counted). */
  costModel(key: string): Promise<CostModel> {
    return this.inner.costModel?.(key) ??
      Promise.resolve(this.capabilities.rangeReads === "local" ? LOCAL_COST : REMOTE_COST);
  }
  /** As the inner backend, counting the bytes returned. */
  /** As the inner backend's `readObject`, counting the bytes. */
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    this.stats.requests++;
    const r = await readObject(this.inner, key);
    if (r) {
      this.stats.bytesRead += r.byteLength;
      this.#onRead?.(r.byteLength);
    }
    return r;
  }
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    this.stats.requests++;
    const r = await this.inner.getRange(key, offset, length);
    if (r) {
      this.stats.bytesRead += r.byteLength;
      this.#onRead?.(r.byteLength);
    }
    return r;
  }
  /** As the inner backend's (else its `getRange`, handed whole), counting the bytes. */
  async getRangeInto(
    key: string,
    offset: number,
    length: number,
    sink: (bytes: Uint8Array, at: number) => void,
  ): Promise<number | undefined> {
    this.stats.requests++;
    let n: number | undefined;
    if (this.inner.getRangeInto) n = await this.inner.getRangeInto(key, offset, length, sink);
    else {
      const r = await this.inner.getRange(key, offset, length);
      if (r) sink(r, 0);
      n = r?.byteLength;
    }
    if (n) {
      this.stats.bytesRead += n;
      this.#onRead?.(n);
    }
    return n;
  }
  /** As the inner backend, counting the bytes written. */
  async put(key: string, data: PutData, options?: PutOptions): Promise<PutResult> {
    this.stats.requests++;
    const r = await this.inner.put(key, data, options);
    this.stats.bytesWritten += r.size;
    return r;
  }
  /** As the inner backend. */
  head(key: string): Promise<ObjectInfo | undefined> {
    this.stats.requests++;
    return this.inner.head(key);
  }
  /** As the inner backend. */
  delete(key: string): Promise<boolean> {
    this.stats.requests++;
    return this.inner.delete(key);
  }
  /** As the inner backend. */
  list(prefix?: string): AsyncIterable<ObjectInfo> {
    this.stats.requests++;
    return this.inner.list(prefix);
  }
}
