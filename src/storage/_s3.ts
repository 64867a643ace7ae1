// Helpers of S3Storage: parsing s3:// URIs, and recognizing the SDK's
// errors (missing objects, transient failures) and their messages.
import { ValidationError } from "../errors.ts";
import { redactError, redactText, redactUrl } from "../_redact.ts";
import { validateKey } from "./key.ts";

/**
 * `s3://bucket/prefix` split; a ValidationError saying what is wrong otherwise.
 *
 * @example
 * ```ts
 * import { parseS3Uri } from "@lamindeno/lamindb";
 * const { bucket, prefix } = parseS3Uri("s3://my-bucket/projects/atlas/");
 * console.assert(bucket === "my-bucket" && prefix === "projects/atlas");
 * ```
 */
export function parseS3Uri(uri: string): { bucket: string; prefix: string } {
  if (typeof uri !== "string") {
    throw new ValidationError(`an S3 URI is a string like s3://bucket/prefix, got ${typeof uri}`);
  }
  const m = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(uri);
  if (!m) {
    throw new ValidationError(
      `${redactUrl(String(uri))} is not an S3 URI; write s3://bucket/prefix`,
    );
  }
  const bucket = m[1];
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    // Credentials written into the URI (`s3://key:secret@bucket`) are not shown.
    const shown = /[@:?#]/.test(bucket) ? redactUrl(uri) : `"${bucket}"`;
    throw new ValidationError(
      `${shown} is not a valid bucket name (3-63 lower-case letters, digits, dots, hyphens)`,
    );
  }
  const prefix = (m[2] ?? "").replace(/\/+$/, "");
  if (prefix) validateKey(prefix);
  return { bucket, prefix };
}

/** The HTTP status of an SDK error, if it got that far. */
export function status(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

/** No such object. */
export function isMissing(e: unknown): boolean {
  const name = (e as Error)?.name;
  return name === "NoSuchKey" || name === "NotFound" || status(e) === 404;
}

/**
 * What an HTTP status means to someone reading an S3 error, for answers
 * without an error document (every `HEAD`: the SDK says "UnknownError").
 */
const STATUS_MEANS: Record<number, string> = {
  301: "the bucket is in another region: set the region (s3.region or AWS_REGION)",
  400: "the server refused the request as malformed",
  403: "access denied: check the credentials and that they may use this bucket",
  404: "not found: check the bucket name",
};

/** An SDK error's text (URLs redacted), for messages. */
export function msg(e: unknown, secrets: readonly string[] = []): string {
  redactError(e, secrets);
  const err = e as Error;
  if (err?.message && err.message !== "UnknownError") return redactText(err.message, secrets);
  const code = status(e);
  const means = code === undefined ? undefined : STATUS_MEANS[code];
  return redactText(
    means ? `${means} (HTTP ${code})` : `${err?.name ?? e}${code ? ` (HTTP ${code})` : ""}`,
    secrets,
  );
}

const TRANSIENT_NAMES = new Set([
  "TimeoutError",
  "RequestTimeout",
  "RequestTimeoutException",
  "SlowDown",
  "Throttling",
  "ThrottlingException",
  "InternalError",
  "ServiceUnavailable",
]);

/** Worth another attempt: network errors, throttling, server errors. */
export function transient(e: unknown): boolean {
  const code = status(e);
  // No status: the request did not get an answer (network), unless the SDK
  // could not even sign it (no credentials), which no retry mends.
  if (code === undefined) {
    return !(e instanceof ValidationError) && (e as Error)?.name !== "CredentialsProviderError";
  }
  return code === 408 || code === 429 || code >= 500 ||
    TRANSIENT_NAMES.has((e as Error)?.name);
}

/** Upload time allowed beyond `timeoutMs`: one second per 64 KiB of body. */
export function uploadMs(bytes: number): number {
  return bytes / 65.536;
}
