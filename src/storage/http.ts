import { StorageError, ValidationError } from "../errors.ts";
import { checkPrefix, checkRange } from "./_args.ts";
import { attempts, drain } from "./_retry.ts";
import {
  basicAuth,
  type HttpOptions,
  type HttpSettings,
  httpSettings,
  HttpStatus,
  idleTimeout,
  message,
  redactUrl,
} from "./_http.ts";
import { validateKey } from "./key.ts";
import { costMeter } from "./_cost_meter.ts";
import type { CostModel } from "./cost_model.ts";
import type {
  ObjectInfo,
  PutData,
  PutOptions,
  PutResult,
  StorageBackend,
  StorageCapabilities,
} from "./storage.ts";

export type { HttpOptions };

/** Statuses meaning "no such object". */
const MISSING = new Set([404, 410]);

/**
 * A read-only {@linkcode StorageBackend} over HTTP(S): objects are the URLs
 * under `root` (`https://host/path`; `http://` too), a key's segments
 * percent-encoded. `getRange` is one `GET` with a `Range` header (a server
 * that ignores it and answers `200` is read only as far as needed and cut
 * to the asked bytes); `head` is a `HEAD` (size from `Content-Length`,
 * `ETag`, `Last-Modified`). Bytes are asked for as stored
 * (`Accept-Encoding: identity`).
 *
 * Every request has a timeout (`timeoutMs`, default 30 s; for `get`, until
 * the headers and then between chunks), and reads that fail on a network
 * error, a timeout, 408, 429 or 5xx are retried with exponential backoff
 * (`retries`, default 3) before a `StorageError` naming the URL (a `get`
 * stream that breaks midway is not resumed: it fails with a `StorageError`
 * and the caller reads again). Messages
 * never show credentials: userinfo in `root` (`https://user:token@host/`)
 * is sent as Basic authorization and dropped from `root` and `uri()`, and
 * URLs in messages have userinfo and query strings redacted. A root with a
 * query string or fragment is refused (keys are appended to its path).
 *
 * Capabilities: not `writable` (`put` and `delete` reject with a
 * `StorageError`), no `listing` (`list()` rejects on first iteration: HTTP
 * cannot enumerate a folder, so only known keys are readable), ranges cost
 * a request, `etags` when the server sends them.
 *
 * @example Read a range from a server started on the spot
 * ```ts
 * import { HttpStorage } from "@lamindeno/lamindb";
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
 *   const body = new TextEncoder().encode("0123456789");
 *   const m = /bytes=(\d+)-(\d+)/.exec(req.headers.get("range") ?? "");
 *   if (!m) return new Response(body);
 *   const [a, b] = [Number(m[1]), Math.min(Number(m[2]), 9)];
 *   return new Response(body.slice(a, b + 1), {
 *     status: 206,
 *     headers: { "content-range": `bytes ${a}-${b}/10` },
 *   });
 * });
 * const web = new HttpStorage(`http://127.0.0.1:${server.addr.port}/data`, { timeoutMs: 5000 });
 * const bytes = await web.getRange("digits.txt", 2, 3);
 * console.assert(new TextDecoder().decode(bytes) === "234");
 * console.assert(!web.capabilities.writable && web.capabilities.rangeReads === "request");
 * console.assert(web.uri("a b.txt") === `${web.root}/a%20b.txt`);
 * await server.shutdown();
 * ```
 */
export class HttpStorage implements StorageBackend {
  /** Read-only, no listing, remote; etags when the server sends them. */
  readonly capabilities: StorageCapabilities = Object.freeze({
    writable: false,
    listing: false,
    localPaths: false,
    rangeReads: "request",
    etags: true,
    exclusiveCreate: "none",
  });
  /** `scheme://host[:port]/path` without userinfo or trailing slash. */
  readonly root: string;
  readonly #base: URL;
  readonly #o: HttpSettings;
  readonly #cost: (key: string) => Promise<CostModel>;

  /** A backend rooted at `root`; no I/O. A `ValidationError` for a bad root or options. */
  constructor(root: string, options: HttpOptions = {}) {
    if (typeof root !== "string") {
      throw new ValidationError("new HttpStorage(root): root is a URL such as https://host/path");
    }
    let u: URL;
    try {
      u = new URL(root);
    } catch {
      throw new ValidationError(
        `${redactUrl(root)} is not a URL; write e.g. https://example.org/data`,
      );
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") {
      throw new ValidationError(
        `${redactUrl(root)} is not an http(s) URL; HttpStorage reads https:// (or http://)`,
      );
    }
    if (u.search || u.hash || root.includes("?") || root.includes("#")) {
      throw new ValidationError(
        `${redactUrl(root)} has a query string or fragment; an HttpStorage root is a plain ` +
          `https://host/path (pass secrets as options.headers)`,
      );
    }
    this.#o = httpSettings(options);
    if ((u.username || u.password) && !this.#o.headers.has("authorization")) {
      this.#o.headers.set("authorization", basicAuth(u));
    }
    this.#o.headers.set("accept-encoding", "identity");
    this.root = `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
    this.#base = new URL(this.root);
    this.#cost = costMeter(this, options.costModel);
  }

  /** The URL of `key`: the root, then the key's segments percent-encoded. */
  uri(key: string): string {
    return `${this.root}/${validateKey(key).split("/").map(encodeURIComponent).join("/")}`;
  }

  /**
   * The key of `url` under this root (segments percent-decoded), or
   * `undefined` when it lies elsewhere or has a query string — the inverse
   * of `uri()`, for registering a URL the user gave.
   */
  keyOf(url: string): string | undefined {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return undefined;
    }
    const base = this.#base.pathname.replace(/\/+$/, "");
    if (u.origin !== this.#base.origin || u.search || !u.pathname.startsWith(`${base}/`)) {
      return undefined;
    }
    try {
      return validateKey(
        u.pathname.slice(base.length + 1).split("/").map(decodeURIComponent)
          .join("/"),
      );
    } catch {
      return undefined;
    }
  }

  /** Always `undefined`: objects are remote. */
  localPath(_key: string): undefined {
    return undefined;
  }

  /** The whole object as a stream (a StorageError in the stream if it stalls or breaks). */
  async get(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const url = this.uri(key);
    const r = await this.#read("read", url, async (signal, ctl) => {
      const res = await fetch(url, { headers: this.#o.headers, signal });
      if (MISSING.has(res.status)) return void await res.body?.cancel();
      await this.#ok(res);
      return { res, ctl };
    });
    if (!r) return undefined;
    const body = r.res.body ?? ReadableStream.from<Uint8Array>([]);
    return idleTimeout(body, r.ctl, this.#o.timeoutMs, url);
  }

  /**
   * What a range request costs: `options.costModel`, else measured once
   * (on the first object of 4 MiB or more) and kept for this instance.
   */
  costModel(key: string): Promise<CostModel> {
    return this.#cost(key);
  }

  /** `length` bytes from `offset` (fewer at the end; none past it). */
  async getRange(key: string, offset: number, length: number): Promise<Uint8Array | undefined> {
    return await this.#range(
      key,
      offset,
      length,
      new Uint8Array(),
      async (body, signal, skip, announced) => {
        // Only as far as needed; the rest is cancelled (a server that
        // ignored Range may be sending a large object).
        if (!body) return new Uint8Array();
        // One buffer when the size is known (never more than the server
        // sends: a huge `length` allocates nothing), else the parts joined.
        const size = Math.min(length, announced ?? Infinity);
        if (size !== Infinity) {
          const out = new Uint8Array(size);
          const n = await drain(
            body,
            signal,
            (part, at) => {
              if (at + part.byteLength <= out.length) out.set(part, at);
            },
            skip,
            size,
          );
          return n === size ? out : out.slice(0, Math.min(n, size));
        }
        const parts: Uint8Array[] = [];
        await drain(body, signal, (part) => parts.push(part.slice()), skip, length);
        return concat(parts);
      },
    );
  }

  /**
   * `getRange` with the bytes handed to `sink` as they arrive (from `at` 0
   * again if the request is retried), none kept: the count handed.
   */
  async getRangeInto(
    key: string,
    offset: number,
    length: number,
    sink: (bytes: Uint8Array, at: number) => void,
  ): Promise<number | undefined> {
    return await this.#range(
      key,
      offset,
      length,
      0,
      async (body, signal, skip) => body ? await drain(body, signal, sink, skip, length) : 0,
    );
  }

  /**
   * One range request, its body given to `take` with the bytes to skip (a
   * server that ignores `Range` sends the whole object); `empty` when
   * nothing is at `offset`.
   */
  async #range<T>(
    key: string,
    offset: number,
    length: number,
    empty: T,
    take: (
      body: ReadableStream<Uint8Array> | null,
      signal: AbortSignal,
      skip: number,
      announced?: number,
    ) => Promise<T>,
  ): Promise<T | undefined> {
    const url = this.uri(key);
    checkRange("getRange", offset, length);
    if (length <= 0) return (await this.head(key)) ? empty : undefined;
    return await this.#read("read", url, async (signal) => {
      const range = `bytes=${offset}-${offset + length - 1}`;
      const headers = new Headers(this.#o.headers);
      headers.set("range", range);
      const res = await fetch(url, { headers, signal });
      if (MISSING.has(res.status)) return void await res.body?.cancel();
      // Nothing at or after `offset`: the object exists and is shorter.
      if (res.status === 416) {
        await res.body?.cancel();
        return empty;
      }
      await this.#ok(res);
      if (res.status !== 206) return await take(res.body, signal, offset);
      const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
      if (start !== undefined && Number(start) !== offset) {
        await res.body?.cancel();
        throw new StorageError(
          `${redactUrl(url)} answered ${range} with bytes from ${start}; the server's ` +
            `range support is broken`,
        );
      }
      // The announced length is of the bytes sent: of no use when fetch decodes them.
      const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
      const announced = encoded ? undefined : headerLength(res.headers.get("content-length"));
      return await take(res.body, signal, 0, announced);
    });
  }

  /** The whole object in one `GET` (retried as a range read is). */
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const url = this.uri(key);
    return await this.#read("read", url, async (signal) => {
      const res = await fetch(url, { headers: this.#o.headers, signal });
      if (MISSING.has(res.status)) return void await res.body?.cancel();
      await this.#ok(res);
      return new Uint8Array(await res.arrayBuffer());
    });
  }

  /** Size (`Content-Length`), etag and mtime of an object. */
  async head(key: string): Promise<ObjectInfo | undefined> {
    const url = this.uri(key);
    return await this.#read("stat", url, async (signal) => {
      let res = await fetch(url, { method: "HEAD", headers: this.#o.headers, signal });
      if (MISSING.has(res.status)) return undefined;
      // Servers that refuse HEAD (405, 501) or omit its length: ask for one
      // byte instead and read the total from Content-Range.
      const noHead = res.status === 405 || res.status === 501;
      if (!noHead) await this.#ok(res);
      let size = noHead ? undefined : headerLength(res.headers.get("content-length"));
      if (size === undefined) {
        const headers = new Headers(this.#o.headers);
        headers.set("range", "bytes=0-0");
        const g = await fetch(url, { headers, signal });
        await g.body?.cancel();
        if (MISSING.has(g.status)) return undefined;
        const range = g.headers.get("content-range") ?? "";
        if (g.status !== 416) await this.#ok(g);
        size = g.status === 200
          ? headerLength(g.headers.get("content-length"))
          : headerLength(/\/(\d+)$/.exec(range)?.[1] ?? null);
        if (size === undefined) {
          throw new StorageError(`${redactUrl(url)} does not tell its size (no Content-Length)`);
        }
        if (noHead) res = g;
      }
      const etag = res.headers.get("etag");
      const modified = Date.parse(res.headers.get("last-modified") ?? "");
      return {
        key,
        size,
        ...(etag ? { etag } : {}),
        ...(Number.isNaN(modified) ? {} : { mtime: new Date(modified) }),
      };
    });
  }

  /** Always a `StorageError`: HTTP storage is read-only (see `capabilities.writable`). */
  put(key: string, data: PutData, _options?: PutOptions): Promise<PutResult> {
    if (data instanceof ReadableStream) data.cancel().catch(() => {});
    return Promise.reject(this.#readOnly("write", key));
  }

  /** Always a `StorageError`: HTTP storage is read-only (see `capabilities.writable`). */
  delete(key: string): Promise<boolean> {
    return Promise.reject(this.#readOnly("delete", key));
  }

  /**
   * Rejects with a `StorageError` on first iteration: HTTP cannot list a
   * folder (see `capabilities.listing`).
   */
  list(prefix = ""): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const err = new StorageError(
      `cannot list ${this.root}/${prefix}: HTTP storage has no listing; read objects by key ` +
        `(check capabilities.listing before listing)`,
    );
    return { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(err) }) };
  }

  #readOnly(what: string, key: string): StorageError {
    return new StorageError(
      `cannot ${what} ${redactUrl(this.uri(key))}: HTTP storage is read-only ` +
        `(check capabilities.writable first; store the data in a writable storage instead)`,
    );
  }

  /** Throw HttpStatus for anything but 2xx (after releasing the body). */
  async #ok(res: Response): Promise<void> {
    if (res.ok) return;
    await res.body?.cancel().catch(() => {});
    throw new HttpStatus(res.status, res.statusText);
  }

  /**
   * One read with a timeout per attempt and retries with backoff on
   * network errors, timeouts and transient statuses; any other failure,
   * and the last one, is a StorageError naming the (redacted) URL.
   */
  #read<T>(
    verb: string,
    url: string,
    run: (signal: AbortSignal, ctl: AbortController) => Promise<T>,
  ): Promise<T> {
    return attempts(this.#o, {
      retry: true,
      transient: (e) => e instanceof TypeError || (e instanceof HttpStatus && e.retry),
      describe: message,
      fail: (e, why, n) =>
        new StorageError(
          `could not ${verb} ${redactUrl(url)}: ${why}${n > 1 ? ` (${n} attempts)` : ""}`,
          { cause: e },
        ),
    }, run);
  }
}

/** A Content-Length-like header as a size, or undefined when absent or malformed. */
function headerLength(v: string | null): number | undefined {
  if (v === null || !/^\d+$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Byte arrays joined into one. */
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
