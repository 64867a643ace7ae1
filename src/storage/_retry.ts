// Timeouts and retries shared by the remote backends (S3Storage,
// HttpStorage): the option checks, one attempt loop with exponential backoff
// and jitter, whole-body reads bounded by an attempt's signal, and streams
// that fail when no bytes arrive for too long.
import { StorageError, ValidationError } from "../errors.ts";

/** Timeout and retry settings, checked and with defaults filled in. */
export interface RetrySettings {
  /** Milliseconds one request may take (one attempt). */
  timeoutMs: number;
  /** Extra attempts of a request that failed transiently. */
  retries: number;
  /** Wait before the first retry, doubled for each further one (with jitter). */
  retryDelayMs: number;
}

/** The largest delay `setTimeout` takes. */
const MAX_TIMEOUT = 2 ** 31 - 1;

/**
 * `timeoutMs` (default 30 000), `retries` (default 3, at most 10) and
 * `retryDelayMs` (default 250) of an options object; a ValidationError
 * naming `owner`'s bad option otherwise.
 */
export function retrySettings(owner: string, o: Record<string, unknown>): RetrySettings {
  const num = (name: string, fallback: number, min: number, max: number, int: boolean) => {
    const v = o[name] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      throw new ValidationError(`${owner} option ${name} must be a number from ${min} to ${max}`);
    }
    if (int && !Number.isInteger(v)) {
      throw new ValidationError(`${owner} option ${name} must be a whole number (got ${v})`);
    }
    return v;
  };
  return {
    timeoutMs: num("timeoutMs", 30_000, 1, MAX_TIMEOUT, false),
    retries: num("retries", 3, 0, 10, true),
    retryDelayMs: num("retryDelayMs", 250, 0, 60_000, false),
  };
}

/** Raised (as abort reason) when a request runs out of time. */
export class Timeout extends Error {
  constructor(ms: number, what = "timed out after") {
    super(`${what} ${Math.round(ms)} ms`);
  }
}

/** Wait before attempt `attempt + 1`: exponential, with jitter in [0.5, 1.5). */
export function backoff(base: number, attempt: number): Promise<void> {
  const ms = Math.min(base * 2 ** attempt * (0.5 + Math.random()), 30_000);
  return new Promise((r) => setTimeout(r, ms));
}

/** How one request is attempted. */
export interface AttemptOptions {
  /** Milliseconds for one attempt (default: the settings' `timeoutMs`). */
  timeoutMs?: number;
  /** Whether a transient failure is tried again (only for idempotent requests). */
  retry: boolean;
  /** Whether a failure is worth another attempt (timeouts always are). */
  transient: (e: unknown) => boolean;
  /** The failure, last or permanent, as the error to throw. */
  fail: (e: unknown, why: string, attempts: number) => Error;
  /** The text of an error for `fail`'s `why`. */
  describe: (e: unknown) => string;
}

/**
 * `run` with a timeout per attempt (its signal aborts with a
 * {@linkcode Timeout}; the attempt is abandoned even if `run` ignores the
 * signal) and, when `retry`, further attempts with backoff after transient
 * failures. A StorageError thrown by `run` is passed through untouched.
 */
export async function attempts<T>(
  s: RetrySettings,
  o: AttemptOptions,
  run: (signal: AbortSignal, ctl: AbortController) => Promise<T>,
): Promise<T> {
  const ms = o.timeoutMs ?? s.timeoutMs;
  for (let attempt = 0;; attempt++) {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const t = new Timeout(ms);
        reject(t);
        ctl.abort(t);
      }, Math.min(ms, MAX_TIMEOUT));
    });
    try {
      return await Promise.race([run(ctl.signal, ctl), expired]);
    } catch (e) {
      if (e instanceof StorageError && !(ctl.signal.reason instanceof Timeout)) throw e;
      const timedOut = ctl.signal.reason instanceof Timeout;
      if (o.retry && attempt < s.retries && (timedOut || o.transient(e))) {
        await backoff(s.retryDelayMs, attempt);
        continue;
      }
      const why = timedOut ? (ctl.signal.reason as Timeout).message : o.describe(e);
      throw o.fail(e, why, attempt + 1);
    } finally {
      clearTimeout(timer);
      expired.catch(() => {});
    }
  }
}

/**
 * All of `body`, or a rejection with the signal's reason as soon as it
 * aborts (the body is cancelled, which closes its connection). `expected`:
 * the size announced (a range's length), read into one buffer.
 */
export async function readAll(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  expected?: number,
): Promise<Uint8Array> {
  // With the size known (a range): one buffer filled in place, not a list
  // of chunks copied at the end (half the memory of a big read).
  let buf = expected !== undefined && expected > 0 ? new Uint8Array(expected) : undefined;
  const chunks: Uint8Array[] = [];
  const n = await drain(body, signal, (part, at) => {
    if (buf && at + part.byteLength <= buf.byteLength) buf.set(part, at);
    else {
      if (buf) chunks.push(buf.subarray(0, at)); // more than announced: collect instead
      buf = undefined;
      chunks.push(part);
    }
  });
  if (buf) return buf.subarray(0, n);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/**
 * Bytes `[skip, skip + length)` of `body` handed to `sink` as they arrive
 * (`at`: their position in that window), none kept; the count handed. As
 * `readAll`, a rejection with the signal's reason as soon as it aborts.
 */
export async function drain(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  sink: (bytes: Uint8Array, at: number) => void,
  skip = 0,
  length = Infinity,
): Promise<number> {
  const reader = body.getReader();
  const onAbort = () => void reader.cancel(signal.reason).catch(() => {});
  signal.addEventListener("abort", onAbort, { once: true });
  let seen = 0, given = 0;
  try {
    while (given < length) {
      if (signal.aborted) throw signal.reason;
      const r = await reader.read();
      if (signal.aborted) throw signal.reason;
      if (r.done) break;
      const from = Math.max(0, skip - seen);
      seen += r.value.byteLength;
      if (from >= r.value.byteLength) continue;
      const part = r.value.subarray(from, from + Math.min(length - given, r.value.byteLength));
      sink(part, given);
      given += part.byteLength;
    }
    if (given >= length) await reader.cancel().catch(() => {});
    return given;
  } finally {
    signal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}

/**
 * `body` passed through, failing with a StorageError (`could not read
 * <label>: no data for <ms> ms`) when no chunk arrives within `ms`, or when
 * the connection breaks. On a stall the body is cancelled and `ctl` (the
 * request's controller, if any) aborted, so the connection is released.
 */
export function idleTimeout(
  body: ReadableStream<Uint8Array>,
  ms: number,
  label: string,
  describe: (e: unknown) => string,
  ctl?: AbortController,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let timer: ReturnType<typeof setTimeout> | undefined;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      let stalled: Timeout | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          stalled = new Timeout(ms, "no data for");
          reject(stalled);
          ctl?.abort(stalled);
          reader.cancel(stalled).catch(() => {});
        }, Math.min(ms, MAX_TIMEOUT));
      });
      expired.catch(() => {});
      try {
        const r = await Promise.race([reader.read(), expired]);
        // A cancelled read ends "done": a stall all the same.
        if (stalled) throw stalled;
        if (r.done) c.close();
        else c.enqueue(r.value);
      } catch (e) {
        const why = stalled ? stalled.message : describe(e);
        c.error(new StorageError(`could not read ${label}: ${why}`, { cause: e }));
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
