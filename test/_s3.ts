// A real S3 server for tests: s3rver on 127.0.0.1 (free port, temp folder),
// with a fresh bucket per call.
import S3rver from "s3rver";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { S3Options } from "../mod.ts";

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
