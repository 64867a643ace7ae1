// A TCP proxy that makes a loopback server (s3rver) look like a store across
// a network, as S3 is priced: every request waits `latencyMs` before it
// reaches the server; each connection's response bytes flow at most
// `bytesPerSec` (one request at a time per connection, so per request); all
// connections together at most `totalBytesPerSec` (default 1.25 GB/s, a
// 10 Gbit/s link), so several connections add bandwidth until that cap, as
// parallel range GETs do on S3. Bytes pass unchanged, so signed S3 requests
// stay valid. It counts requests and response bytes (`stats`).
//
// Run as a program it starts s3rver with a bucket behind the proxy, prints
// one JSON line { endpoint, direct, bucket, latencyMs, bytesPerSec,
// totalBytesPerSec }, answers each stdin line "stats" with a JSON line
// { requests, bytes } (totals so far), and serves until its stdin closes:
// the bench runs it in its own process, so the server and proxy do not share
// an event loop with the reader timed.
//   deno run -A bench/_latency_proxy.ts [latencyMs] [bytesPerSec] [totalBytesPerSec]

/** A running proxy. */
export interface LatencyProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the proxy. */
  endpoint: string;
  /** Requests forwarded and response bytes sent so far. */
  stats: { requests: number; bytes: number };
}

/** A proxy in front of `target` (`http://127.0.0.1:<port>`). */
export function latencyProxy(
  target: string,
  { latencyMs, bytesPerSec, totalBytesPerSec = 1.25e9 }: {
    latencyMs: number;
    bytesPerSec: number;
    totalBytesPerSec?: number;
  },
): LatencyProxy {
  const stats = { requests: 0, bytes: 0 };
  let readyAll = 0; // when all bytes sent so far may have arrived, at `totalBytesPerSec`
  const port = Number(new URL(target).port);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  const close = (c: Deno.Conn) => {
    if (!open.delete(c)) return;
    try {
      c.close();
    } catch { /* closed */ }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

  async function handle(client: Deno.Conn) {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch {
      return close(client);
    }
    open.add(client).add(server);
    let idle = true;
    let ready = 0; // when the bytes sent so far may have arrived, at `bytesPerSec`
    (async () => {
      // Client -> server: a chunk that starts after the server has answered
      // (a new request on a kept-alive connection) waits the latency first.
      try {
        for await (const chunk of client.readable) {
          if (idle) {
            stats.requests++;
            await sleep(latencyMs);
          }
          idle = false;
          await write(server, chunk);
        }
      } catch { /* closed */ }
      close(client);
      close(server);
    })();
    (async () => {
      try {
        for await (const chunk of server.readable) {
          idle = true;
          const now = performance.now();
          stats.bytes += chunk.byteLength;
          ready = Math.max(ready, now) + chunk.byteLength / bytesPerSec * 1000;
          readyAll = Math.max(readyAll, now) + chunk.byteLength / totalBytesPerSec * 1000;
          const wait = Math.max(ready, readyAll) - now;
          if (wait > 2) await sleep(wait);
          await write(client, chunk);
        }
      } catch { /* closed */ }
      close(client);
      close(server);
    })();
  }

  (async () => {
    try {
      for await (const c of listener) handle(c);
    } catch { /* listener closed */ }
  })();

  return {
    endpoint: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    stats,
    [Symbol.asyncDispose]() {
      listener.close();
      for (const c of [...open]) close(c);
      return Promise.resolve();
    },
  };
}

async function write(c: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let o = 0; o < bytes.byteLength;) o += await c.write(bytes.subarray(o));
}

/** What the proxy process prints first: where it listens and its settings. */
export interface ProxyInfo {
  endpoint: string;
  direct: string;
  bucket: string;
  latencyMs: number;
  bytesPerSec: number;
  totalBytesPerSec: number;
}

/** The proxy (with s3rver behind it) in its own process, as the S3 benches run it. */
export interface ProxyProcess extends AsyncDisposable {
  info: ProxyInfo;
  /** Requests and bytes it has served so far. */
  stats(): Promise<{ requests: number; bytes: number }>;
}

/** Start this script as a process; disposing it closes its stdin and waits for it. */
export async function spawnProxy(
  latencyMs: number,
  bytesPerSec: number,
  totalBytesPerSec: number,
): Promise<ProxyProcess> {
  const server = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      String(latencyMs),
      String(bytesPerSec),
      String(totalBytesPerSec),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = server.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const line = async () => {
    while (!buf.includes("\n")) buf += (await lines.read()).value ?? "";
    const i = buf.indexOf("\n");
    const l = buf.slice(0, i);
    buf = buf.slice(i + 1);
    return l;
  };
  const info = JSON.parse(await line()) as ProxyInfo;
  const stdin = server.stdin.getWriter();
  return {
    info,
    async stats() {
      await stdin.write(new TextEncoder().encode("stats\n"));
      return JSON.parse(await line());
    },
    async [Symbol.asyncDispose]() {
      await stdin.close();
      await server.status;
    },
  };
}

if (import.meta.main) {
  const { s3Server } = await import("../test/_s3.ts");
  const latencyMs = Number(Deno.args[0] ?? 20);
  const bytesPerSec = Number(Deno.args[1] ?? 200e6);
  const totalBytesPerSec = Number(Deno.args[2] ?? 1.25e9);
  await using s3 = await s3Server();
  const bucket = await s3.bucket();
  await using proxy = latencyProxy(s3.options.endpoint!, {
    latencyMs,
    bytesPerSec,
    totalBytesPerSec,
  });
  console.log(JSON.stringify({
    endpoint: proxy.endpoint,
    direct: s3.options.endpoint,
    bucket,
    latencyMs,
    bytesPerSec,
    totalBytesPerSec,
  }));
  // Serve until the parent closes stdin; "stats" lines are answered.
  for await (const text of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    for (const line of text.split("\n")) {
      if (line.trim() === "stats") console.log(JSON.stringify(proxy.stats));
    }
  }
}
