// Helpers of HttpStorage: option checks, URL redaction, bounded body reads,
// idle timeouts on streamed bodies, and the status classification that
// decides what is retried.
import { ValidationError } from "../errors.ts";
import type { CostModel } from "./cost_model.ts";
import { idleTimeout as sharedIdleTimeout, retrySettings } from "./_retry.ts";

/** Options of `HttpStorage`, all optional. */
export interface HttpOptions {
  /**
   * Milliseconds one request may take: until the whole body for `head` and
   * `getRange`, until the response headers for `get` (whose stream then
   * fails when no bytes arrive for this long). Default 30 000.
   */
  timeoutMs?: number;
  /**
   * Extra attempts of a read that failed on a network error, a timeout,
   * HTTP 408, 429 or 5xx (never on 4xx). Default 3.
   */
  retries?: number;
  /** Wait before the first retry in ms, doubled for each further one (with jitter). Default 250. */
  retryDelayMs?: number;
  /**
   * Headers sent with every request, e.g. `{ authorization: "Bearer ..." }`.
   * Their values never appear in messages.
   */
  headers?: Record<string, string>;
  /** What a range request costs on this server; default: measured once (see `measureCostModel`). */
  costModel?: CostModel;
}

/** Checked options with defaults filled in. */
export interface HttpSettings {
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  headers: Headers;
}

const KNOWN = ["timeoutMs", "retries", "retryDelayMs", "headers", "costModel"];

/** Options checked by hand (no dependency to load); a ValidationError naming the bad one. */
export function httpSettings(options: unknown): HttpSettings {
  if (options === undefined) options = {};
  if (options === null || typeof options !== "object" || Array.isArray(options)) {
    throw new ValidationError(
      "HttpStorage options are an object { timeoutMs, retries, retryDelayMs, headers }",
    );
  }
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!KNOWN.includes(k)) {
      throw new ValidationError(`unknown HttpStorage option "${k}"; the options are ${KNOWN}`);
    }
  }
  let headers: Headers;
  try {
    if (o.headers !== undefined && (o.headers === null || typeof o.headers !== "object")) {
      throw new TypeError("not an object");
    }
    headers = new Headers((o.headers ?? {}) as Record<string, string>);
  } catch {
    // The values may be secrets: name the problem, not the content.
    throw new ValidationError(
      "HttpStorage option headers must be an object of header names to string values",
    );
  }
  return { ...retrySettings("HttpStorage", o), headers };
}

// URLs in messages: the library's one redaction (src/_redact.ts).
export { redactText, redactUrl } from "../_redact.ts";
import { redactText, redactUrl } from "../_redact.ts";

/** An HTTP status that is not what was asked for; `retry` for transient ones. */
export class HttpStatus extends Error {
  constructor(readonly status: number, statusText: string) {
    super(`HTTP ${status}${statusText ? ` ${statusText}` : ""}`);
  }
  /** Worth another attempt: timeouts, throttling and server errors. */
  get retry(): boolean {
    return this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/**
 * `body` passed through, failing with a StorageError when no chunk arrives
 * within `ms` (the request is aborted through `ctl`) or the connection
 * breaks.
 */
export function idleTimeout(
  body: ReadableStream<Uint8Array>,
  ctl: AbortController,
  ms: number,
  url: string,
): ReadableStream<Uint8Array> {
  return sharedIdleTimeout(body, ms, redactUrl(url), message, ctl);
}

/** An error's text with any URL in it redacted. */
export function message(e: unknown): string {
  return redactText(e instanceof Error ? e.message : String(e));
}

/** `Basic` credentials from a URL's userinfo (percent-decoded, UTF-8). */
export function basicAuth(u: URL): string {
  const dec = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const bytes = new TextEncoder().encode(`${dec(u.username)}:${dec(u.password)}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}
