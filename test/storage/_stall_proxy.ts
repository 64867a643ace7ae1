// A TCP proxy on 127.0.0.1 in front of a server (s3rver) that can be told
// to stop forwarding the server's bytes: the stand-in for `kill -STOP` on a
// server that runs in this process. Stalled connections stay open (as a
// stopped process's sockets do) until resumed or closed by the client.

/** A running proxy. */
export interface StallProxy extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` of the proxy. */
  endpoint: string;
  /**
   * Stop forwarding the server's bytes after `afterBytes` more of them
   * (0: at once), on every connection, new ones included. With
   * `untilAbandoned`, forwarding resumes as soon as the client gives up on
   * a stalled connection (a server that froze for one request).
   */
  stall(options?: { afterBytes?: number; untilAbandoned?: boolean }): void;
  /** Forward again, stalled connections included (`kill -CONT`). */
  resume(): void;
  /** Connections the client closed while the proxy held back their bytes. */
  readonly abandoned: number;
  /** Connections accepted so far. */
  readonly connections: number;
}

/** A proxy in front of `127.0.0.1:<port>` of `target` (an `http://127.0.0.1:<port>` URL). */
export function stallProxy(target: string): StallProxy {
  const port = Number(new URL(target).port);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const open = new Set<Deno.Conn>();
  let budget = Infinity;
  let untilAbandoned = false;
  let gate: PromiseWithResolvers<void> | undefined;
  let abandoned = 0;
  let connections = 0;

  const resume = () => {
    budget = Infinity;
    const g = gate;
    gate = undefined;
    g?.resolve();
  };
  const close = (c: Deno.Conn) => {
    if (!open.delete(c)) return;
    try {
      c.close();
    } catch { /* already closed */ }
  };

  async function handle(client: Deno.Conn) {
    connections++;
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch {
      return close(client);
    }
    open.add(client).add(server);
    let held = false;
    // Client -> server: always forwarded (a stopped process's kernel still
    // takes the bytes); the client closing ends both directions.
    (async () => {
      try {
        for await (const chunk of client.readable) await write(server, chunk);
      } catch { /* closed */ }
      if (held) {
        abandoned++;
        if (untilAbandoned) resume();
      }
      close(client);
      close(server);
    })();
    // Server -> client: forwarded while the budget lasts, then held at the gate.
    (async () => {
      try {
        for await (let chunk of server.readable) {
          while (chunk.byteLength > 0) {
            if (gate) {
              held = true;
              await gate.promise;
              held = false;
              if (!open.has(client)) return;
            }
            const n = Math.min(chunk.byteLength, budget);
            if (n > 0) {
              await write(client, chunk.subarray(0, n));
              if (budget !== Infinity) budget -= n;
            }
            chunk = chunk.subarray(n);
            if (budget === 0 && !gate) gate = Promise.withResolvers<void>();
          }
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
    stall(options = {}) {
      untilAbandoned = options.untilAbandoned ?? false;
      budget = options.afterBytes ?? 0;
      if (budget === 0) gate ??= Promise.withResolvers<void>();
    },
    resume,
    get abandoned() {
      return abandoned;
    },
    get connections() {
      return connections;
    },
    [Symbol.asyncDispose]() {
      resume();
      listener.close();
      for (const c of [...open]) close(c);
      return Promise.resolve();
    },
  };
}

async function write(c: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let o = 0; o < bytes.byteLength;) o += await c.write(bytes.subarray(o));
}

/** `p`, or a rejection when it has not settled within `ms` (a hang becomes a failure). */
export async function within<T>(ms: number, p: Promise<T>, what = "the call"): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} still hangs after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
