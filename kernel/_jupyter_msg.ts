// Jupyter messages on the wire (messaging protocol 5.x):
// [routing ids..., "<IDS|MSG>", hmac, header, parent_header, metadata, content, buffers...]
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Frames } from "./_zmtp.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** The frame separating routing identities from the message. */
export const DELIMITER: Uint8Array = enc.encode("<IDS|MSG>");

/** A message header. */
export interface Header {
  /** Unique id of the message. */
  msg_id: string;
  /** Message type, e.g. `execute_request`. */
  msg_type: string;
  /** Session id of the sender. */
  session: string;
  /** User name of the sender. */
  username: string;
  /** ISO 8601 time the message was created. */
  date: string;
  /** Protocol version. */
  version: string;
}

/** A received message: headers decoded, everything else kept as raw frames. */
export interface Message {
  /** Routing identities before the delimiter. */
  identities: Frames;
  /** The decoded header. */
  header: Header;
  /** The decoded parent header (`{}` for none). */
  parent: Partial<Header>;
  /** The frames from the delimiter on: delimiter, signature, header, parent, metadata, content, buffers. */
  body: Frames;
}

const isDelimiter = (f: Uint8Array) =>
  f.length === DELIMITER.length && dec.decode(f) === "<IDS|MSG>";

const strict = new TextDecoder("utf-8", { fatal: true });

/** A frame holding a JSON object (not null, not an array), or undefined. */
function jsonObject(frame: Uint8Array): Record<string, unknown> | undefined {
  try {
    const v = JSON.parse(strict.decode(frame));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Split and decode the headers of a wire message; undefined if it is not one
 * (no delimiter, too few frames, a header without a string `msg_id` and
 * `msg_type`, a parent header that is not an object).
 */
export function parse(frames: Frames): Message | undefined {
  const at = frames.findIndex(isDelimiter);
  if (at < 0 || frames.length < at + 6) return undefined;
  const header = jsonObject(frames[at + 2]);
  const parent = jsonObject(frames[at + 3]);
  if (typeof header?.msg_id !== "string" || typeof header.msg_type !== "string") return undefined;
  if (!parent) return undefined;
  return {
    identities: frames.slice(0, at),
    header: header as unknown as Header,
    parent: parent as Partial<Header>,
    body: frames.slice(at),
  };
}

/**
 * True if the message's metadata and content are JSON objects, as the
 * protocol wants: what the proxy reads of a client's request (its code,
 * its cell id) can then be read without throwing.
 */
export function wellFormed(msg: Message): boolean {
  return jsonObject(msg.body[4]) !== undefined && jsonObject(msg.body[5]) !== undefined;
}

/** The decoded content of a message. */
export function content<T = Record<string, unknown>>(msg: Message): T {
  return JSON.parse(dec.decode(msg.body[5]));
}

/** The decoded metadata of a message. */
export function metadata(msg: Message): Record<string, unknown> {
  return JSON.parse(dec.decode(msg.body[4]));
}

/** HMAC-SHA256 (hex) of the signed parts; "" when there is no key. */
export function sign(key: string, parts: Uint8Array[]): string {
  if (!key) return "";
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest("hex");
}

/** True if the message's signature matches (always true without a key). */
export function verify(key: string, msg: Message): boolean {
  if (!key) return true;
  const want = enc.encode(sign(key, msg.body.slice(2, 6)));
  const got = msg.body[1];
  return got.length === want.length && timingSafeEqual(got, want);
}

/** The parts of a message to build. */
export interface Parts {
  /** Header. */
  header: Header;
  /** Parent header (`{}` for none). */
  parent?: Partial<Header>;
  /** Metadata. */
  metadata?: Record<string, unknown>;
  /** Content. */
  content: unknown;
  /** Binary buffers. */
  buffers?: Frames;
}

/** Encode and sign a message: the frames from the delimiter on. */
export function build(key: string, m: Parts): Frames {
  const signed = [m.header, m.parent ?? {}, m.metadata ?? {}, m.content].map((x) =>
    enc.encode(JSON.stringify(x))
  );
  return [DELIMITER, enc.encode(sign(key, signed)), ...signed, ...(m.buffers ?? [])];
}

/** The message with its content replaced and the signature renewed. */
export function withContent(key: string, msg: Message, newContent: unknown): Frames {
  const body = msg.body.slice();
  body[5] = enc.encode(JSON.stringify(newContent));
  body[1] = enc.encode(sign(key, body.slice(2, 6)));
  return [...msg.identities, ...body];
}

/** A fresh header for a message of `msgType` from `session`. */
export function newHeader(msgType: string, session: string): Header {
  return {
    msg_id: crypto.randomUUID(),
    msg_type: msgType,
    session,
    username: "lamindeno",
    date: new Date().toISOString(),
    version: "5.3",
  };
}
