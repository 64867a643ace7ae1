// A real S3 server for tests: s3rver on 127.0.0.1 (free port, temp folder),
// with a fresh bucket per call.
import S3rver from "s3rver";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import crypto from "node:crypto";
import { Buffer } from "node:buffer";
import * as ln from "../mod.ts";
import type { S3Options } from "../mod.ts";

// s3rver makes a listing's continuation token (past 1,000 keys) with DES,
// which Deno's node:crypto does not have (every listing of more than a page
// failed with a 500). Tokens are opaque to clients: for s3rver's "des"
// alone, an identity cipher (its token is then its IV and the key name in
// clear, base64); every other algorithm goes to node:crypto as before.
type Cipherish = { update(d: string | Uint8Array, enc?: string): Buffer; final(): Buffer };
const identity = (): Cipherish => ({
  update: (d, enc) => typeof d === "string" ? Buffer.from(d, enc as "utf8") : Buffer.from(d),
  final: () => Buffer.alloc(0),
});
const ciphers = crypto as unknown as Record<string, (...a: unknown[]) => unknown>;
for (const name of ["createCipheriv", "createDecipheriv"]) {
  const real = ciphers[name];
  if ((real as { s3rverDes?: boolean }).s3rverDes) continue;
  const wrapped = (algorithm: unknown, ...rest: unknown[]) =>
    algorithm === "des" ? identity() : real(algorithm, ...rest);
  ciphers[name] = Object.assign(wrapped, { s3rverDes: true });
}

/** A running s3rver and how to reach it. */
export interface S3Server extends AsyncDisposable {
  /** Options for `S3Storage` / `ln.init({ s3 })`. */
  options: S3Options;
  /** Make a new empty bucket; its name. */
  bucket(): Promise<string>;
}

let buckets = 0;

/** Start s3rver; dispose to stop it and remove its files. */
export async function s3Server(): Promise<S3Server> {
  const dir = await Deno.makeTempDir({ prefix: "lamindeno-s3rver-" });
  const server = new S3rver({ port: 0, address: "127.0.0.1", silent: true, directory: dir });
  const { port } = await server.run();
  const options: S3Options = {
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  };
  const client = new S3Client(options);
  return {
    options,
    async bucket() {
      const name = `bucket-${Date.now().toString(36)}-${buckets++}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      return name;
    },
    async [Symbol.asyncDispose]() {
      client.destroy();
      await server.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/**
 * A test on a fresh instance stored in a new bucket of its own s3rver
 * (prefix `p`, cache in a temporary folder): `fn` gets them; the instance is
 * closed and the cache removed afterwards.
 */
export function s3InstanceTest(
  name: string,
  fn: (at: { server: S3Server; bucket: string; cache: string }) => Promise<void>,
): void {
  Deno.test({
    name,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await using server = await s3Server();
      const bucket = await server.bucket();
      const cache = await Deno.makeTempDir({ prefix: "lamindeno-test-" });
      try {
        await ln.init({ storage: `s3://${bucket}/p`, s3: server.options, cacheDir: cache });
        await fn({ server, bucket, cache });
      } finally {
        await ln.close();
        await Deno.remove(cache, { recursive: true }).catch(() => {});
      }
    },
  });
}
