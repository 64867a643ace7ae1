// Helpers of HttpStorage: option checks, URL redaction, bounded body reads,
// idle timeouts on streamed bodies, and the status classification that
// decides what is retried.
import { StorageError, ValidationError } from "../errors.ts";

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
}

/** Checked options with defaults filled in. */
export interface HttpSettings {
  timeoutMs: number;
  retries: number;
  retryDelayMs: number;
  headers: Headers;
}

const KNOWN = ["timeoutMs", "retries", "retryDelayMs", "headers"];
const MAX_TIMEOUT = 2 ** 31 - 1;

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
  const num = (name: string, fallback: number, min: number, max: number, int: boolean) => {
    const v = o[name] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      throw new ValidationError(
        `HttpStorage option ${name} must be a number from ${min} to ${max}`,
      );
    }
    if (int && !Number.isInteger(v)) {
      throw new ValidationError(`HttpStorage option ${name} must be a whole number (got ${v})`);
    }
    return v;
  };
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
  return {
    timeoutMs: num("timeoutMs", 30_000, 1, MAX_TIMEOUT, false),
    retries: num("retries", 3, 0, 10, true),
    retryDelayMs: num("retryDelayMs", 250, 0, 60_000, false),
    headers,
  };
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

/** Raised (as abort reason) when a request runs out of time. */
export class Timeout extends Error {
  constructor(ms: number, what = "timed out after") {
    super(`${what} ${ms} ms`);
  }
}

/** Wait before attempt `attempt + 1`: exponential, with jitter in [0.5, 1.5). */
export function backoff(base: number, attempt: number): Promise<void> {
  const ms = Math.min(base * 2 ** attempt * (0.5 + Math.random()), 30_000);
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * `length` bytes of `body` after skipping `skip`: reads only as far as
 * needed and cancels the rest (a server that ignored Range may be sending
 * a large object).
 */
export async function readSlice(
  body: ReadableStream<Uint8Array> | null,
  skip: number,
  length: number,
): Promise<Uint8Array> {
  if (!body) return new Uint8Array();
  const out = new Uint8Array(length);
  let seen = 0;
  let filled = 0;
  const reader = body.getReader();
  try {
    while (filled < length) {
      const r = await reader.read();
      if (r.done) break;
      const chunk = r.value;
      const from = Math.max(0, skip - seen);
      seen += chunk.byteLength;
      if (from >= chunk.byteLength) continue;
      const part = chunk.subarray(from, from + length - filled);
      out.set(part, filled);
      filled += part.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return filled === length ? out : out.slice(0, filled);
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
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      timer = setTimeout(() => ctl.abort(new Timeout(ms, "no data for")), ms);
      try {
        const r = await reader.read();
        if (r.done) c.close();
        else c.enqueue(r.value);
      } catch (e) {
        const why = ctl.signal.reason instanceof Timeout ? ctl.signal.reason.message : message(e);
        c.error(new StorageError(`could not read ${redactUrl(url)}: ${why}`, { cause: e }));
      } finally {
        clearTimeout(timer);
      }
    },
    cancel(reason) {
      clearTimeout(timer);
      return reader.cancel(reason);
    },
  });
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
