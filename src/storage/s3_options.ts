// The options of S3Storage and their zod schema (S3Storage's constructor,
// being synchronous, checks them by hand; `ln.init` with the schema).
import { LazySchema } from "./_validate.ts";
import type { CostModel } from "./cost_model.ts";

/** How to reach an S3-compatible endpoint (AWS, MinIO, s3rver, ...). */
export interface S3Options {
  /** Endpoint URL, e.g. `http://127.0.0.1:9000`; default: AWS for `region`. */
  endpoint?: string;
  /** Region; default `AWS_REGION`, else `us-east-1`. */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`), as MinIO and s3rver need. */
  forcePathStyle?: boolean;
  /** Credentials; default: the AWS SDK's chain (environment, profile, ...). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * Milliseconds one request may take. Reads (`head`, `getRange`, a `list`
   * page) must complete within it; `get` must deliver its headers within it
   * and then never go this long without a byte; an upload gets it plus one
   * second per 64 KiB of body. Default 30 000.
   */
  timeoutMs?: number;
  /**
   * Extra attempts of an idempotent request (reads, part uploads, deletes,
   * overwrites) that failed on a timeout, a network error, HTTP 408, 429 or
   * 5xx; never on other 4xx. Default 3.
   */
  retries?: number;
  /** Wait before the first retry in ms, doubled for each further one (with jitter). Default 250. */
  retryDelayMs?: number;
  /** What a range request costs on this endpoint; default: measured once (see `measureCostModel`). */
  costModel?: CostModel;
}

/**
 * The zod schema of {@linkcode S3Options} (zod loads on first use):
 * `parse` throws a `ValidationError` naming the field.
 *
 * @example Check S3 settings read from a config file
 * ```ts
 * import { S3OptionsSchema, ValidationError } from "@lamindeno/lamindb";
 * const ok = await S3OptionsSchema.parse({ endpoint: "http://127.0.0.1:9000", forcePathStyle: true });
 * console.assert(ok.forcePathStyle === true);
 * const bad = await S3OptionsSchema.safeParse({ region: 3 });
 * console.assert(!bad.success && bad.error instanceof ValidationError);
 * ```
 */
export const S3OptionsSchema: LazySchema<S3Options> = new LazySchema(
  "S3 options",
  (z) =>
    z.strictObject({
      endpoint: z.string().refine((v) => URL.canParse(v), {
        error: "a URL like http://127.0.0.1:9000",
      }).optional(),
      region: z.string().min(1).optional(),
      forcePathStyle: z.boolean().optional(),
      timeoutMs: z.number().positive().optional(),
      retries: z.number().int().min(0).optional(),
      retryDelayMs: z.number().min(0).optional(),
      costModel: z.strictObject({
        latencyMs: z.number().min(0),
        bytesPerSec: z.number().positive(),
        parallelism: z.number().int().min(1),
        totalBytesPerSec: z.number().positive().optional(),
      }).optional(),
      // Loose: the AWS SDK adds fields ($source, expiration, accountId) to credentials it used.
      credentials: z.looseObject({
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
        sessionToken: z.string().optional(),
      }).optional(),
    }),
);
