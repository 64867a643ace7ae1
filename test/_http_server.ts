// A real HTTP server for tests: Deno.serve on 127.0.0.1 (free port) serving
// bytes from a map (or a folder), with single-range support (206 +
// Content-Range, 416 past the end), ETag/Last-Modified, and switches to
// misbehave: ignore Range, stall before the headers or mid-body, fail the
// next requests with 503. It logs every request.
import { createHash } from "node:crypto";
import { join } from "node:path";

/** One request the server saw. */
export interface LoggedRequest {
  method: string;
  /** Decoded path without the leading slash. */
  path: string;
  range: string | null;
  authorization: string | null;
  acceptEncoding: string | null;
}

/** How the server misbehaves; change the fields between requests. */
export interface HttpServerMode {
  /** Answer ranged GETs with 200 and the whole object. */
  ignoreRange: boolean;
  /** `"headers"`: never answer; `"body"`: send headers and one chunk, then nothing. */
  stall: false | "headers" | "body";
  /** Answer this many next requests with 503 (then serve normally). */
  failNext: number;
  /** Answer HEAD without Content-Length (chunked), as some servers do. */
  headWithoutLength: boolean;
  /** Answer HEAD with 405 Method Not Allowed, as some servers do. */
  headNotAllowed: boolean;
}

/** A running test server. */
export interface TestHttpServer extends AsyncDisposable {
  /** `http://127.0.0.1:{port}` (no trailing slash). */
  url: string;
  /** Objects by decoded path without the leading slash; edit freely. */
  files: Map<string, Uint8Array>;
  /** Misbehaviour switches. */
  mode: HttpServerMode;
  /** Every request, in order. */
  log: LoggedRequest[];
  /** Number of requests so far. */
  readonly requests: number;
}

const MTIME = new Date("2024-01-02T03:04:05Z").toUTCString();

/**
 * Start the server. `dir`: serve files from this folder when `files` has
 * no entry for a path.
 */
export function httpServer(options: { dir?: string } = {}): TestHttpServer {
  const files = new Map<string, Uint8Array>();
  const mode: HttpServerMode = {
    ignoreRange: false,
    stall: false,
    failNext: 0,
    headWithoutLength: false,
    headNotAllowed: false,
  };
  const log: LoggedRequest[] = [];
  // Stalled requests wait on this; released at shutdown.
  const { promise: closing, resolve: release } = Promise.withResolvers<void>();

  const lookup = async (path: string): Promise<Uint8Array | undefined> => {
    const hit = files.get(path);
    if (hit || !options.dir || path.split("/").includes("..")) return hit;
    return await Deno.readFile(join(options.dir, path)).catch(() => undefined);
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const u = new URL(req.url);
    const path = decodeURIComponent(u.pathname.slice(1));
    const range = req.headers.get("range");
    log.push({
      method: req.method,
      path,
      range,
      authorization: req.headers.get("authorization"),
      acceptEncoding: req.headers.get("accept-encoding"),
    });
    if (mode.stall === "headers") {
      await closing;
      return new Response(null, { status: 503 });
    }
    if (mode.failNext > 0) {
      mode.failNext--;
      return new Response("try later", { status: 503 });
    }
    const body = await lookup(path);
    if (!body) return new Response("not found", { status: 404 });
    const headers = new Headers({
      "etag": `"${createHash("md5").update(body).digest("hex")}"`,
      "last-modified": MTIME,
      "accept-ranges": "bytes",
    });
    if (req.method === "HEAD") {
      if (mode.headNotAllowed) return new Response(null, { status: 405 });
      if (mode.headWithoutLength) {
        headers.set("transfer-encoding", "chunked");
        return new Response(ReadableStream.from([body]), { headers });
      }
      headers.set("content-length", String(body.length));
      return new Response(null, { headers });
    }
    let status = 200;
    let slice = body;
    const m = /^bytes=(\d*)-(\d*)$/.exec(range ?? "");
    if (m && !mode.ignoreRange && (m[1] || m[2])) {
      let [a, b] = m[1]
        ? [Number(m[1]), m[2] ? Math.min(Number(m[2]), body.length - 1) : body.length - 1]
        : [Math.max(0, body.length - Number(m[2])), body.length - 1];
      if (a >= body.length || a > b) {
        headers.set("content-range", `bytes */${body.length}`);
        return new Response(null, { status: 416, headers });
      }
      b = Math.max(a, b);
      status = 206;
      slice = body.subarray(a, b + 1);
      headers.set("content-range", `bytes ${a}-${b}/${body.length}`);
    }
    if (mode.stall === "body") {
      let sent = false;
      const stream = new ReadableStream<Uint8Array>({
        async pull(c) {
          if (!sent) {
            sent = true;
            return c.enqueue(slice.slice(0, 1));
          }
          await closing;
          c.close();
        },
      });
      return new Response(stream, { status, headers });
    }
    return new Response(slice as Uint8Array<ArrayBuffer>, { status, headers });
  });

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    files,
    mode,
    log,
    get requests() {
      return log.length;
    },
    async [Symbol.asyncDispose]() {
      release();
      await server.shutdown();
    },
  };
}
