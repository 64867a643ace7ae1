// The AWS SDK is loaded on first use, so importing the library stays fast
// for everyone who does not use S3.
import type {
  AbortMultipartUploadCommandOutput,
  CompleteMultipartUploadCommandOutput,
  CreateMultipartUploadCommandOutput,
  DeleteObjectCommandOutput,
  GetObjectCommandOutput,
  HeadObjectCommandOutput,
  ListObjectsV2CommandOutput,
  PutObjectCommandOutput,
  S3Client,
  UploadPartCommandOutput,
} from "@aws-sdk/client-s3";
import { Buffer } from "node:buffer";
import { IntegrityError, StorageError, ValidationError } from "../errors.ts";
import { checkChunk, checkPrefix, checkPut, checkRange } from "./_args.ts";
import { isMissing, msg, parseS3Uri, status, transient, uploadMs } from "./_s3.ts";
import {
  attempts,
  drain,
  idleTimeout,
  readAll,
  type RetrySettings,
  retrySettings,
} from "./_retry.ts";
import { redactUrl, urlSecrets } from "../_redact.ts";
import * as rt from "../_runtime.ts";
import type { S3Options } from "./s3_options.ts";

export { type S3Options, S3OptionsSchema } from "./s3_options.ts";
import { Md5 } from "./hash.ts";
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

export { parseS3Uri };

type Sdk = typeof import("@aws-sdk/client-s3");

/** Uploads larger than this go in parts of this size (S3's minimum part is 5 MiB). */
const PART = 8 << 20;
/** Parts in flight at once (each holds a PART-sized buffer). */
const PARALLEL_PARTS = 4;

/**
 * A {@linkcode StorageBackend} on an S3 bucket (any S3-compatible endpoint),
 * rooted at `s3://bucket/prefix`. Reads by byte range are single `GET`s
 * with a `Range` header. `put` hashes on the way and verifies before the
 * object becomes visible: small objects are one `PutObject` (with
 * `Content-MD5`, so S3 checks the bytes too), larger ones a multipart upload
 * that is completed only when size and md5 match and aborted otherwise; S3
 * never shows a partial object. Without `overwrite`, an existing object is
 * refused: checked with a `HEAD` first, and by S3 itself through a
 * conditional write (`If-None-Match: *`) where the server supports it.
 * Every request has a timeout (`timeoutMs`, default 30 s); idempotent ones
 * are retried with backoff on timeouts, network errors and 5xx (`retries`,
 * default 3), then fail with a `StorageError` naming the object.
 *
 * @example
 * ```ts ignore
 * import { S3Storage } from "@lamindeno/lamindb";
 * const s3 = new S3Storage("s3://my-bucket/project", {
 *   endpoint: "http://127.0.0.1:9000",
 *   forcePathStyle: true,
 * });
 * await s3.put("hello.txt", new TextEncoder().encode("hi"));
 * console.log(s3.uri("hello.txt")); // s3://my-bucket/project/hello.txt
 * ```
 */
export class S3Storage implements StorageBackend {
  /**
   * Writable, listable, remote (ranges are requests), etags; an existing
   * object is refused by a check and, where the server supports it, by a
   * conditional write (`"checked"`: only the latter is race-free).
   */
  readonly capabilities: StorageCapabilities = Object.freeze({
    writable: true,
    listing: true,
    localPaths: false,
    rangeReads: "request",
    etags: true,
    exclusiveCreate: "checked",
  });
  /** `s3://bucket/prefix` (no trailing slash). */
  readonly root: string;
  /** The bucket. */
  readonly bucket: string;
  /** The key prefix inside the bucket (may be empty). */
  readonly prefix: string;
  readonly #options: S3Options;
  readonly #retry: RetrySettings;
  /** Strings no message may show: the secret key, the session token, endpoint passwords. */
  readonly #secrets: string[];
  #clientP?: Promise<{ client: S3Client; sdk: Sdk }>;
  readonly #cost: (key: string) => Promise<CostModel>;
  #closed = false;

  /** A backend rooted at `root` (`s3://bucket/prefix`); no I/O. */
  constructor(root: string, options: S3Options = {}) {
    if (typeof root !== "string") {
      throw new ValidationError("new S3Storage(root): root is s3://bucket/prefix");
    }
    if (options === null || typeof options !== "object") {
      throw new ValidationError("S3 options are { endpoint, region, forcePathStyle, credentials }");
    }
    if (options.endpoint !== undefined && !URL.canParse(String(options.endpoint))) {
      throw new ValidationError(
        `S3 endpoint ${
          redactUrl(String(options.endpoint))
        } is not a URL; write e.g. http://127.0.0.1:9000`,
      );
    }
    this.#retry = retrySettings("S3Storage", options as Record<string, unknown>);
    const c = options.credentials;
    this.#secrets = [
      ...(options.endpoint ? urlSecrets(String(options.endpoint)) : []),
      ...[c?.secretAccessKey, c?.sessionToken].filter((x): x is string => typeof x === "string"),
    ];
    const { bucket, prefix } = parseS3Uri(root);
    this.bucket = bucket;
    this.prefix = prefix;
    this.root = `s3://${bucket}${prefix ? `/${prefix}` : ""}`;
    this.#options = options;
    this.#cost = costMeter(this, options.costModel);
  }

  /** The SDK client and commands, made on first use. */
  #s3(): Promise<{ client: S3Client; sdk: Sdk }> {
    this.#clientP ??= import("@aws-sdk/client-s3").then((sdk) => {
      const o = this.#options;
      const client = new sdk.S3Client({
        region: o.region ?? rt.env("AWS_REGION") ?? "us-east-1",
        ...(o.endpoint ? { endpoint: o.endpoint } : {}),
        ...(o.forcePathStyle !== undefined ? { forcePathStyle: o.forcePathStyle } : {}),
        ...(o.credentials ? { credentials: o.credentials } : {}),
        // Retries are ours (#request): only idempotent requests, each attempt timed.
        maxAttempts: 1,
      });
      if (this.#closed) client.destroy();
      return { client, sdk };
    });
    return this.#clientP;
  }

  /** Send the command `make` builds from the SDK; `T` is its output type. */
  async #send<T>(make: (sdk: Sdk) => object, signal: AbortSignal): Promise<T> {
    const { client, sdk } = await this.#s3();
    // Each command's own type does not fit send()'s union of all of them.
    return await client.send(make(sdk) as never, { abortSignal: signal as never }) as T;
  }

  /**
   * One request with a timeout per attempt and, when `retry` (idempotent
   * requests only), further attempts with backoff after timeouts, network
   * errors and transient statuses; the last failure, or any other one, is a
   * StorageError `could not <verb> <what>` (errors `run` throws on purpose,
   * StorageError or IntegrityError, pass through).
   */
  #request<T>(
    verb: string,
    what: string,
    o: { retry: boolean; bodyBytes?: number },
    run: (signal: AbortSignal, ctl: AbortController) => Promise<T>,
  ): Promise<T> {
    return attempts(this.#retry, {
      retry: o.retry,
      timeoutMs: this.#retry.timeoutMs + uploadMs(o.bodyBytes ?? 0),
      transient: (e) => !(e instanceof IntegrityError) && transient(e),
      describe: (e) => msg(e, this.#secrets),
      fail: (e, why, n) =>
        e instanceof IntegrityError ? e : new StorageError(
          `could not ${verb} ${what}: ${why}${n > 1 ? ` (${n} attempts)` : ""}`,
          { cause: e },
        ),
    }, run);
  }

  #key(key: string): string {
    const k = validateKey(key);
    return this.prefix ? `${this.prefix}/${k}` : k;
  }

  /** `s3://bucket/prefix/key`. */
  uri(key: string): string {
    return `s3://${this.bucket}/${this.#key(key)}`;
  }

  /** Always `undefined`: objects are remote. */
  localPath(_key: string): undefined {
    return undefined;
  }

  /**
   * The whole object as a stream. A stream that stalls (no bytes for
   * `timeoutMs`) or breaks fails with a StorageError; it is not resumed.
   */
  async get(key: string): Promise<ReadableStream<Uint8Array> | undefined> {
    const Key = this.#key(key);
    const uri = this.uri(key);
    const r = await this.#request("read", uri, { retry: true }, async (signal, ctl) => {
      try {
        const r = await this.#send<GetObjectCommandOutput>(
          (sdk) => new sdk.GetObjectCommand({ Bucket: this.bucket, Key }),
          signal,
        );
        return { r, ctl };
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    });
    if (!r) return undefined;
    const body = (r.r.Body?.transformToWebStream() ?? ReadableStream.from([])) as ReadableStream<
      Uint8Array
    >;
    return idleTimeout(body, this.#retry.timeoutMs, uri, msg, r.ctl);
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
      async (body, signal, ranged, announced) => {
        // Into one buffer of the size the server announced (never more than
        // asked for a range: a huge `length` allocates nothing).
        const expected = announced === undefined
          ? undefined
          : ranged
          ? Math.min(announced, length)
          : announced;
        const bytes = body ? await readAll(body, signal, expected) : new Uint8Array();
        // A server that ignores Range sends everything (no Content-Range): cut it here.
        return ranged || (offset === 0 && bytes.length <= length)
          ? bytes
          : bytes.subarray(offset, offset + length);
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
      async (body, signal, ranged) =>
        body ? await drain(body, signal, sink, ranged ? 0 : offset, length) : 0,
    );
  }

  /** One range request, its body given to `take`; `empty` when nothing is at `offset`. */
  async #range<T>(
    key: string,
    offset: number,
    length: number,
    empty: T,
    take: (
      body: ReadableStream<Uint8Array> | undefined,
      signal: AbortSignal,
      ranged: boolean,
      announced?: number,
    ) => Promise<T>,
  ): Promise<T | undefined> {
    checkRange("getRange", offset, length);
    const Key = this.#key(key);
    if (length <= 0) return (await this.head(key)) ? empty : undefined;
    const r = await this.#request("read", this.uri(key), { retry: true }, async (signal) => {
      let r;
      try {
        r = await this.#send<GetObjectCommandOutput>((sdk) =>
          new sdk.GetObjectCommand({
            Bucket: this.bucket,
            Key,
            Range: `bytes=${offset}-${offset + length - 1}`,
          }), signal);
      } catch (e) {
        if (isMissing(e)) return undefined;
        if ((e as Error)?.name === "InvalidRange" || status(e) === 416) return { e416: true };
        throw e;
      }
      const body = r.Body?.transformToWebStream() as ReadableStream<Uint8Array> | undefined;
      // Nothing at or after `offset` (an empty object): some servers (s3rver)
      // still announce a byte they never send, so do not wait for it.
      const total = /\/(\d+)$/.exec(r.ContentRange ?? "")?.[1];
      if (total !== undefined && Number(total) <= offset) {
        await body?.cancel().catch(() => {});
        return { value: empty };
      }
      return { value: await take(body, signal, !!r.ContentRange, r.ContentLength) };
    });
    if (r === undefined) return undefined;
    if ("e416" in r) return (await this.head(key)) ? empty : undefined;
    return r.value;
  }

  /** The whole object in one `GET` (retried as a range read is). */
  async getBytes(key: string): Promise<Uint8Array | undefined> {
    const Key = this.#key(key);
    return await this.#request("read", this.uri(key), { retry: true }, async (signal) => {
      let r;
      try {
        r = await this.#send<GetObjectCommandOutput>(
          (sdk) => new sdk.GetObjectCommand({ Bucket: this.bucket, Key }),
          signal,
        );
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
      const body = r.Body?.transformToWebStream() as ReadableStream<Uint8Array> | undefined;
      return body ? await readAll(body, signal, r.ContentLength) : new Uint8Array();
    });
  }

  /** Write atomically, verified before it becomes visible. */
  async put(key: string, data: PutData, options: PutOptions = {}): Promise<PutResult> {
    checkPut(data, options);
    const Key = this.#key(key);
    const uri = this.uri(key);
    const exists = () =>
      new StorageError(
        `an object already exists at ${uri}; choose another key or replace the file`,
      );
    // Refused up front, and again by S3 itself (`If-None-Match: *`) should a
    // writer race us to the key; servers without conditional writes only
    // have the first check.
    if (!options.overwrite && (await this.head(key))) {
      if (data instanceof ReadableStream) await data.cancel().catch(() => {});
      throw exists();
    }
    const md5 = new Md5();
    const check = () => {
      const result = md5.digest();
      const want = options.expect;
      if (want && (want.size !== result.size || want.hash !== result.hash)) {
        throw new IntegrityError(
          `the bytes written for ${key} (size ${result.size}, md5 ${result.hash}) differ from ` +
            `the source (size ${want.size}, md5 ${want.hash}); did the source change while saving?`,
        );
      }
      return result;
    };
    const reader = (data instanceof Uint8Array ? ReadableStream.from([data]) : data).getReader();
    // Fill one part's buffer; `done` when the source ended.
    const buf = new Uint8Array(PART);
    let carry: Uint8Array | undefined;
    const fill = async (): Promise<{ bytes: Uint8Array; done: boolean }> => {
      let n = 0;
      for (;;) {
        const chunk = carry ?? await readChunk();
        carry = undefined;
        if (!chunk) return { bytes: buf.slice(0, n), done: true };
        const take = Math.min(chunk.byteLength, PART - n);
        buf.set(chunk.subarray(0, take), n);
        md5.update(chunk.subarray(0, take));
        n += take;
        if (take < chunk.byteLength) carry = chunk.subarray(take);
        if (n === PART) return { bytes: buf.slice(0, n), done: false };
      }
    };
    const readChunk = async (): Promise<Uint8Array | undefined> => {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw new StorageError(`could not write ${uri}: ${msg(e, this.#secrets)}`, { cause: e });
      }
      return r.done ? undefined : checkChunk(r.value);
    };
    const first = await fill().catch(async (e) => {
      await reader.cancel().catch(() => {});
      throw e;
    });
    // Overwrites and part uploads are idempotent, so they are retried; a
    // conditional create is not (a lost answer would read as "exists").
    const write = <T>(retry: boolean, bodyBytes: number, make: (sdk: Sdk) => object) =>
      this.#request("write", uri, { retry, bodyBytes }, async (signal) => {
        try {
          return await this.#send<T>(make, signal);
        } catch (e) {
          if (status(e) === 412) throw exists();
          throw e;
        }
      });
    if (first.done) {
      const result = check();
      const r = await write<PutObjectCommandOutput>(
        !!options.overwrite,
        first.bytes.length,
        (sdk) =>
          new sdk.PutObjectCommand({
            Bucket: this.bucket,
            Key,
            Body: first.bytes,
            ContentMD5: Buffer.from(result.hash, "base64url").toString("base64"),
            ...(options.overwrite ? {} : { IfNoneMatch: "*" }),
          }),
      );
      options.progress?.add(first.bytes.length);
      return { ...result, ...(r.ETag ? { etag: r.ETag } : {}) };
    }
    // Multipart: invisible until completed, aborted on any failure.
    let uploadId: string | undefined;
    try {
      const mp = await write<CreateMultipartUploadCommandOutput>(
        false,
        0,
        (sdk) => new sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key }),
      );
      uploadId = mp.UploadId!;
      // Parts upload while the next ones are read and hashed, a few at once.
      const parts: { ETag?: string; PartNumber: number }[] = [];
      const inflight = new Map<number, Promise<void>>();
      let part = first;
      for (let n = 1;; n++) {
        const [num, body, id] = [n, part.bytes, uploadId];
        const sent = write<UploadPartCommandOutput>(
          true,
          body.length,
          (sdk) =>
            new sdk.UploadPartCommand({
              Bucket: this.bucket,
              Key,
              UploadId: id,
              PartNumber: num,
              Body: body,
            }),
        ).then((r) => {
          parts[num - 1] = { ETag: r.ETag, PartNumber: num };
          options.progress?.add(body.length);
        });
        inflight.set(num, sent);
        sent.then(() => inflight.delete(num), () => {});
        if (part.done) break;
        if (inflight.size >= PARALLEL_PARTS) await Promise.race(inflight.values());
        part = await fill();
        if (part.done && part.bytes.length === 0) break;
      }
      await Promise.all(inflight.values());
      const result = check();
      const done = await write<CompleteMultipartUploadCommandOutput>(
        false,
        0,
        (sdk) =>
          new sdk.CompleteMultipartUploadCommand({
            Bucket: this.bucket,
            Key,
            UploadId: uploadId,
            MultipartUpload: { Parts: parts },
            ...(options.overwrite ? {} : { IfNoneMatch: "*" }),
          }),
      );
      return { ...result, ...(done.ETag ? { etag: done.ETag } : {}) };
    } catch (e) {
      await reader.cancel().catch(() => {});
      if (uploadId) {
        const id = uploadId;
        await write<AbortMultipartUploadCommandOutput>(
          true,
          0,
          (sdk) => new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId: id }),
        ).catch(() => {});
      }
      if (e instanceof IntegrityError || e instanceof StorageError) throw e;
      throw new StorageError(`could not write ${uri}: ${msg(e, this.#secrets)}`, { cause: e });
    }
  }

  /** Size, etag and mtime of an object. */
  async head(key: string): Promise<ObjectInfo | undefined> {
    const Key = this.#key(key);
    return await this.#request("stat", this.uri(key), { retry: true }, async (signal) => {
      let r;
      try {
        r = await this.#send<HeadObjectCommandOutput>(
          (sdk) => new sdk.HeadObjectCommand({ Bucket: this.bucket, Key }),
          signal,
        );
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
      return {
        key,
        size: Number(r.ContentLength ?? 0),
        ...(r.ETag ? { etag: r.ETag } : {}),
        ...(r.LastModified ? { mtime: r.LastModified } : {}),
      };
    });
  }

  /** Delete an object; `false` if there was none. */
  async delete(key: string): Promise<boolean> {
    if (!(await this.head(key))) return false;
    const Key = this.#key(key);
    await this.#request(
      "delete",
      this.uri(key),
      { retry: true },
      (signal) =>
        this.#send<DeleteObjectCommandOutput>(
          (sdk) => new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key }),
          signal,
        ),
    );
    return true;
  }

  /** Every object whose key starts with `prefix`. */
  async *list(prefix = ""): AsyncIterable<ObjectInfo> {
    checkPrefix(prefix);
    const base = this.prefix ? `${this.prefix}/` : "";
    for await (const r of this.#pages(prefix)) {
      for (const o of r.Contents ?? []) {
        if (!o.Key?.startsWith(base)) continue;
        yield {
          key: o.Key.slice(base.length),
          size: Number(o.Size ?? 0),
          ...(o.ETag ? { etag: o.ETag } : {}),
          ...(o.LastModified ? { mtime: o.LastModified } : {}),
        };
      }
    }
  }

  /** The folders directly under `prefix` ("" or ending in `/`): a delimiter listing. */
  async listFolders(prefix: string): Promise<string[]> {
    if (prefix !== "" && !prefix.endsWith("/")) {
      throw new ValidationError(
        `listFolders("${prefix}"): a folder is "" (the root) or a key prefix ending in "/"`,
      );
    }
    const base = (this.prefix ? `${this.prefix}/` : "") + prefix;
    const out: string[] = [];
    for await (const r of this.#pages(prefix, "/")) {
      for (const p of r.CommonPrefixes ?? []) {
        const name = p.Prefix?.startsWith(base) ? p.Prefix.slice(base.length, -1) : "";
        if (name) out.push(name);
      }
    }
    return out.sort();
  }

  /** The pages of a listing of the keys under `prefix` (grouped at `delimiter` when given). */
  async *#pages(prefix: string, delimiter?: string): AsyncIterable<ListObjectsV2CommandOutput> {
    const Prefix = (this.prefix ? `${this.prefix}/` : "") + prefix;
    let token: string | undefined;
    do {
      const page = token;
      const r = await this.#request(
        "list",
        `${this.root}/${prefix}`,
        { retry: true },
        (signal) =>
          this.#send<ListObjectsV2CommandOutput>((sdk) =>
            new sdk.ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix,
              ...(delimiter ? { Delimiter: delimiter } : {}),
              ...(page ? { ContinuationToken: page } : {}),
            }), signal),
      );
      yield r;
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
      if (r.IsTruncated && (!token || token === page)) {
        // A server that says there is more but gives no new place to go on
        // from: stop with an error rather than list part of it, or forever.
        throw new StorageError(
          `could not list ${this.root}/${prefix}: the server said the listing goes on ` +
            `but gave ${token ? "the same continuation token again" : "no continuation token"}`,
        );
      }
    } while (token);
  }

  /** Release the client's connections. */
  close(): void {
    this.#closed = true;
    this.#clientP?.then(({ client }) => client.destroy()).catch(() => {});
  }
}
