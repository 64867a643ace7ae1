// Checks of the arguments every StorageBackend method takes, shared by the
// backends so that they refuse bad input alike: a ValidationError saying
// what was expected, before any request is sent or byte written.
import { kindOf } from "../_display.ts";
import { ValidationError } from "../errors.ts";
import type { PutData } from "./storage.ts";
import { checkKnownOptions } from "./_validate.ts";

/** A number for a message: numbers as such, anything else by its kind. */
function shown(v: unknown): string {
  return typeof v === "number" ? String(v) : kindOf(v);
}

/**
 * Check the `offset` and `length` of a range read: whole numbers, neither
 * negative, together within `Number.MAX_SAFE_INTEGER`.
 */
export function checkRange(method: string, offset: unknown, length: unknown): void {
  const whole = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  if (!whole(offset) || !whole(length) || (offset as number) + (length as number) > 2 ** 53 - 1) {
    throw new ValidationError(
      `${method}(key, offset, length): offset and length are whole numbers >= 0 (their sum at ` +
        `most 2^53 - 1), got offset ${shown(offset)} and length ${shown(length)}`,
    );
  }
}

/** Check that a `list()` prefix is a string (or omitted). */
export function checkPrefix(prefix: unknown): void {
  if (typeof prefix !== "string") {
    throw new ValidationError(
      `list(prefix): prefix is a key prefix string such as "raw/" (or omitted), got ${
        kindOf(prefix)
      }`,
    );
  }
}

const PUT_OPTIONS = new Set(["expect", "overwrite", "progress"]);

/**
 * Check the data and options of `put`: bytes (a `Uint8Array`) or a
 * `ReadableStream` of them, and options `{ expect, overwrite, progress }`.
 */
export function checkPut(data: unknown, options: unknown): asserts data is PutData {
  if (!(data instanceof Uint8Array) && !isStream(data)) {
    throw new ValidationError(
      `put(key, data): data is a Uint8Array or a ReadableStream of Uint8Array chunks, got ${
        kindOf(data)
      }; encode text with new TextEncoder().encode(text)`,
    );
  }
  if (options === undefined) return;
  const bad = (why: string): never => {
    throw new ValidationError(`put(key, data, options): ${why}`);
  };
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    bad(`options is an object like { overwrite: true }, got ${kindOf(options)}`);
  }
  const o = options as Record<string, unknown>;
  checkKnownOptions("put(key, data, options)", o, [...PUT_OPTIONS]);
  if (o.overwrite !== undefined && typeof o.overwrite !== "boolean") {
    bad(`overwrite is true or false, got ${kindOf(o.overwrite)}`);
  }
  if (o.expect !== undefined) {
    const e = o.expect as Record<string, unknown> | null;
    if (
      typeof e !== "object" || e === null || !Number.isSafeInteger(e.size) ||
      (e.size as number) < 0 || typeof e.hash !== "string"
    ) bad(`expect is { size: a whole number >= 0, hash: an md5 string }`);
  }
  if (o.progress !== undefined) {
    const p = o.progress as Record<string, unknown> | null;
    if (typeof p !== "object" || p === null || typeof p.add !== "function") {
      bad(`progress is an object with an add(bytes) method`);
    }
  }
}

/** A chunk of a `put` stream: a ValidationError unless it is bytes. */
export function checkChunk(chunk: unknown): Uint8Array {
  if (!(chunk instanceof Uint8Array)) {
    throw new ValidationError(
      `put(key, stream): the stream's chunks are Uint8Array, got ${kindOf(chunk)}; ` +
        `pipe text through a TextEncoderStream`,
    );
  }
  return chunk;
}

function isStream(v: unknown): v is ReadableStream<Uint8Array> {
  return v instanceof ReadableStream ||
    (typeof v === "object" && v !== null &&
      typeof (v as ReadableStream).getReader === "function" &&
      typeof (v as AsyncIterable<unknown>)[Symbol.asyncIterator] === "function");
}

/**
 * Check a cost model: `{ latencyMs >= 0, bytesPerSec > 0, parallelism >= 1
 * (an integer), totalBytesPerSec? > 0 }`, finite numbers.
 */
export function isCostModel(m: unknown): boolean {
  const g = m as Record<string, unknown> | null;
  const pos = (v: unknown) => typeof v === "number" && Number.isFinite(v) && v > 0;
  return g !== null && typeof g === "object" &&
    typeof g.latencyMs === "number" && Number.isFinite(g.latencyMs) && g.latencyMs >= 0 &&
    pos(g.bytesPerSec) && Number.isSafeInteger(g.parallelism) &&
    (g.parallelism as number) >= 1 &&
    (g.totalBytesPerSec === undefined || pos(g.totalBytesPerSec));
}

/** The shape of a cost model, for messages. */
export const COST_MODEL_SHAPE =
  "{ latencyMs >= 0, bytesPerSec > 0, parallelism >= 1 (an integer), totalBytesPerSec? > 0 }";
