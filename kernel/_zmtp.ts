// A small ZMTP 3.0 (https://rfc.zeromq.org/spec/23/) over TCP, NULL security
// mechanism only: enough of ROUTER/DEALER, PUB/SUB and REQ/REP for a Jupyter
// kernel. Any socket type can bind (accept peers) or connect (dial a peer).

/** One ZeroMQ message: its frames, in order. */
export type Frames = Uint8Array[];

/** The ZeroMQ socket types implemented here. */
export type SocketType = "ROUTER" | "DEALER" | "PUB" | "SUB" | "REQ" | "REP";

const FLAG_MORE = 0x01;
const FLAG_LONG = 0x02;
const FLAG_COMMAND = 0x04;
const enc = new TextEncoder();
const dec = new TextDecoder();

/**
 * The 64-octet greeting: signature, version 3.0, mechanism "NULL", as-server
 * and filler. As-server is 0: the NULL mechanism is symmetric, and libzmq
 * peers expect 0 from a binding NULL peer too.
 */
export function greeting(): Uint8Array {
  const g = new Uint8Array(64);
  g[0] = 0xff;
  g[9] = 0x7f;
  g[10] = 3;
  g[11] = 0;
  g.set(enc.encode("NULL"), 12);
  g[32] = 0; // as-server
  return g;
}

/** Encode frames (data or one command) into the bytes of a ZMTP message. */
export function encodeFrames(frames: Frames, command = false): Uint8Array {
  let size = 0;
  for (const f of frames) size += f.length + (f.length > 255 ? 9 : 2);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let o = 0;
  frames.forEach((f, i) => {
    const flags = (i < frames.length - 1 ? FLAG_MORE : 0) | (command ? FLAG_COMMAND : 0);
    if (f.length > 255) {
      out[o] = flags | FLAG_LONG;
      view.setBigUint64(o + 1, BigInt(f.length));
      o += 9;
    } else {
      out[o] = flags;
      out[o + 1] = f.length;
      o += 2;
    }
    out.set(f, o);
    o += f.length;
  });
  return out;
}

/** The body of a command frame: name and properties (READY's metadata). */
export function commandBody(name: string, props: Record<string, Uint8Array> = {}): Uint8Array {
  const parts: Uint8Array[] = [Uint8Array.of(name.length), enc.encode(name)];
  for (const [k, v] of Object.entries(props)) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, v.length);
    parts.push(Uint8Array.of(k.length), enc.encode(k), len, v);
  }
  return concat(parts);
}

/** Parse a command frame: its name, properties (for READY) and raw data. */
export function parseCommand(
  body: Uint8Array,
): { name: string; props: Map<string, Uint8Array>; data: Uint8Array } {
  const name = dec.decode(body.subarray(1, 1 + body[0]));
  const data = body.subarray(1 + body[0]);
  const props = new Map<string, Uint8Array>();
  if (name === "READY") {
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    for (let o = 0; o < data.length;) {
      const key = dec.decode(data.subarray(o + 1, o + 1 + data[o]));
      o += 1 + data[o];
      const len = view.getUint32(o);
      props.set(key.toLowerCase(), data.slice(o + 4, o + 4 + len));
      o += 4 + len;
    }
  }
  return { name, props, data };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte-wise equality of two frames. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** What a connection reports to its socket. */
export interface PeerEvents {
  /** The handshake completed (called before any message is reported). */
  ready(peer: Peer): void;
  /** A multipart message arrived. */
  message(peer: Peer, frames: Frames): void;
  /** A command other than READY, ERROR or PING arrived. */
  command(peer: Peer, name: string, data: Uint8Array): void;
}

/**
 * One ZMTP connection: greeting, NULL handshake (READY with Socket-Type and
 * Identity), then multipart messages and commands in both directions.
 */
export class Peer {
  /** The peer's READY properties (keys lower-cased), once the handshake is done. */
  props = new Map<string, Uint8Array>();
  /** The routing identity a ROUTER gives this peer. */
  identity: Uint8Array = new Uint8Array(0);
  /** Subscriptions a PUB keeps for this peer. */
  readonly topics: Uint8Array[] = [];
  /** Resolves when the handshake completed; rejects if it failed. */
  readonly ready: Promise<void>;
  /** Resolves when the connection is gone. */
  readonly closed: Promise<void>;
  #conn: Deno.TcpConn;
  #writing: Promise<void> = Promise.resolve();
  #open = true;
  #markReady!: () => void;
  #failReady!: (e: Error) => void;

  /** Start the handshake on `conn` as a socket of `ownType`; report to `events`. */
  constructor(
    conn: Deno.TcpConn,
    ownType: SocketType,
    ownIdentity: Uint8Array | undefined,
    events: PeerEvents,
  ) {
    this.#conn = conn;
    try {
      conn.setNoDelay(true);
    } catch { /* not a TCP socket option here */ }
    this.ready = new Promise((res, rej) => {
      this.#markReady = res;
      this.#failReady = rej;
    });
    this.ready.catch(() => {});
    const props: Record<string, Uint8Array> = { "Socket-Type": enc.encode(ownType) };
    if (ownIdentity && ownIdentity.length) props.Identity = ownIdentity;
    // Greeting and READY go out together; the peer reads them in order.
    this.#write(concat([greeting(), encodeFrames([commandBody("READY", props)], true)]));
    this.closed = this.#read(events).finally(() => this.close());
  }

  /** Queue a multipart message (or a command) for sending. */
  send(frames: Frames, command = false): void {
    this.#write(encodeFrames(frames, command));
  }

  /** Resolves when everything queued so far has been written. */
  flushed(): Promise<void> {
    return this.#writing;
  }

  /** Close the connection. */
  close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#failReady(new Error("connection closed"));
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  #write(bytes: Uint8Array): void {
    this.#writing = this.#writing.then(async () => {
      if (!this.#open) return;
      try {
        for (let o = 0; o < bytes.length;) o += await this.#conn.write(bytes.subarray(o));
      } catch {
        this.close();
      }
    });
  }

  async #read(events: PeerEvents): Promise<void> {
    let buf = new Uint8Array(64 * 1024);
    let start = 0, end = 0;
    let greeted = false;
    let parts: Frames = [];
    try {
      while (this.#open) {
        if (end === buf.length) { // make room: compact, then grow
          if (start > 0) {
            buf.copyWithin(0, start, end);
            end -= start;
            start = 0;
          } else {
            const bigger = new Uint8Array(buf.length * 2);
            bigger.set(buf);
            buf = bigger;
          }
        }
        const n = await this.#conn.read(buf.subarray(end));
        if (n === null) return;
        end += n;
        for (;;) {
          if (!greeted) {
            if (end - start < 64) break;
            const g = buf.subarray(start, start + 64);
            const mech = dec.decode(g.subarray(12, 32)).replace(/\0+$/, "");
            if (g[0] !== 0xff || (g[9] & 1) !== 1 || g[10] < 3 || mech !== "NULL") {
              throw new Error("not a ZMTP 3 NULL-mechanism peer");
            }
            greeted = true;
            start += 64;
            continue;
          }
          if (end - start < 2) break;
          const flags = buf[start];
          const head = flags & FLAG_LONG ? 9 : 2;
          if (end - start < head) break;
          const size = flags & FLAG_LONG
            ? Number(new DataView(buf.buffer, start + 1, 8).getBigUint64(0))
            : buf[start + 1];
          if (end - start < head + size) {
            if (head + size > buf.length) { // a frame bigger than the buffer
              const bigger = new Uint8Array(head + size);
              bigger.set(buf.subarray(start, end));
              end -= start;
              start = 0;
              buf = bigger;
            }
            break;
          }
          const body = buf.slice(start + head, start + head + size);
          start += head + size;
          if (flags & FLAG_COMMAND) {
            const cmd = parseCommand(body);
            if (cmd.name === "READY") {
              this.props = cmd.props;
              events.ready(this); // before any message that came in the same read
              this.#markReady();
            } else if (cmd.name === "ERROR") {
              throw new Error(`peer error: ${dec.decode(cmd.data.subarray(1))}`);
            } else if (cmd.name === "PING") { // ZMTP 3.1 heartbeat: answer PONG with the context
              const ctx = cmd.data.subarray(2);
              this.send([concat([commandBody("PONG"), ctx])], true);
            } else events.command(this, cmd.name, cmd.data);
            continue;
          }
          parts.push(body);
          if (!(flags & FLAG_MORE)) {
            const frames = parts;
            parts = [];
            events.message(this, frames);
          }
        }
        if (start === end) start = end = 0;
      }
    } catch {
      // protocol error or reset: the connection ends
    }
  }
}

/** Options of a socket. */
export interface SocketOptions {
  /** Our identity, announced in READY (ROUTER peers route replies by it). */
  identity?: string | Uint8Array;
}

/**
 * A ZeroMQ socket of one type. `bind` accepts peers, `connect` dials one
 * (retrying until it answers). Received messages are handed to `onmessage`
 * when set, else queued for `recv()`.
 */
export class Socket {
  /** The socket type. */
  readonly type: SocketType;
  #onmessage?: (frames: Frames) => void;
  /** Connected peers whose handshake completed. */
  readonly peers: Peer[] = [];
  #identity?: Uint8Array;
  #listeners: Deno.Listener[] = [];
  #queue: Frames[] = [];
  #waiters: ((f: Frames) => void)[] = [];
  #outbox: Frames[] = [];
  #subscriptions: Uint8Array[] = [];
  #closed = false;
  #rr = 0;
  #repPending: { peer: Peer; envelope: Frames }[] = [];

  /**
   * Handler for received messages; replaces the `recv()` queue when set, and
   * is handed what was queued before (a socket may listen before its handler
   * is ready).
   */
  get onmessage(): ((frames: Frames) => void) | undefined {
    return this.#onmessage;
  }
  set onmessage(handler: ((frames: Frames) => void) | undefined) {
    this.#onmessage = handler;
    while (handler && this.#queue.length) handler(this.#queue.shift()!);
  }

  /** A socket of `type`. */
  constructor(type: SocketType, options: SocketOptions = {}) {
    this.type = type;
    const id = options.identity;
    this.#identity = typeof id === "string" ? enc.encode(id) : id;
  }

  /** Listen on `hostname:port` (0: any free port); returns the port. */
  bind(hostname: string, port: number): number {
    const listener = Deno.listen({ hostname, port, transport: "tcp" });
    this.#listeners.push(listener);
    (async () => {
      try {
        for await (const conn of listener) this.#attach(conn);
      } catch { /* listener closed */ }
    })();
    return (listener.addr as Deno.NetAddr).port;
  }

  /**
   * Dial `hostname:port`, retrying every 10 ms for up to `timeoutMs` while
   * the peer is not listening yet. Resolves once the handshake completed.
   */
  async connect(hostname: string, port: number, timeoutMs = 30_000): Promise<Peer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const peer = this.#attach(await Deno.connect({ hostname, port }));
        await peer.ready;
        return peer;
      } catch (e) {
        if (this.#closed || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }

  /** The next received message (when no `onmessage` handler is set). */
  recv(): Promise<Frames> {
    const next = this.#queue.shift();
    if (next) return Promise.resolve(next);
    return new Promise((r) => this.#waiters.push(r));
  }

  /**
   * Send a message. ROUTER: the first frame is the destination identity
   * (dropped if unknown). PUB: to every peer subscribed to a prefix of the
   * first frame. REQ/DEALER: to the next peer (queued until one is
   * connected). REP: the reply to the oldest unanswered request.
   */
  send(frames: Frames): void {
    switch (this.type) {
      case "ROUTER": {
        const peer = this.peers.find((p) => sameBytes(p.identity, frames[0]));
        peer?.send(frames.slice(1));
        return;
      }
      case "PUB":
        for (const p of this.peers) {
          if (p.topics.some((t) => startsWith(frames[0] ?? new Uint8Array(0), t))) p.send(frames);
        }
        return;
      case "REP": {
        const to = this.#repPending.shift(); // replies go out in request order
        to?.peer.send([...to.envelope, ...frames]);
        return;
      }
      case "REQ":
        return this.#sendNext([new Uint8Array(0), ...frames]);
      default:
        return this.#sendNext(frames);
    }
  }

  /** SUB: subscribe to messages whose first frame starts with `topic`. */
  subscribe(topic: string | Uint8Array = ""): void {
    const t = typeof topic === "string" ? enc.encode(topic) : topic;
    this.#subscriptions.push(t);
    for (const p of this.peers) p.send([concat([Uint8Array.of(1), t])]);
  }

  /** Resolves when every peer has written what was queued for it. */
  async flush(): Promise<void> {
    await Promise.all(this.peers.map((p) => p.flushed()));
  }

  /** Stop listening and close every connection. */
  close(): void {
    this.#closed = true;
    for (const l of this.#listeners) {
      try {
        l.close();
      } catch { /* closed */ }
    }
    for (const p of [...this.peers]) p.close();
  }

  #sendNext(frames: Frames): void {
    if (this.peers.length === 0) {
      this.#outbox.push(frames);
      return;
    }
    this.peers[this.#rr++ % this.peers.length].send(frames);
  }

  #attach(conn: Deno.TcpConn): Peer {
    const peer = new Peer(conn, this.type, this.#identity, {
      ready: (p) => this.#ready(p),
      message: (p, f) => this.#received(p, f),
      command: (p, name, data) => this.#command(p, name, data),
    });
    peer.closed.then(() => {
      const i = this.peers.indexOf(peer);
      if (i >= 0) this.peers.splice(i, 1);
    });
    return peer;
  }

  #ready(peer: Peer): void {
    if (this.#closed) return peer.close();
    if (this.type === "ROUTER") peer.identity = this.#routingId(peer);
    this.peers.push(peer);
    if (this.type === "SUB") {
      for (const t of this.#subscriptions) peer.send([concat([Uint8Array.of(1), t])]);
    }
    for (const f of this.#outbox.splice(0)) this.#sendNext(f);
  }

  #routingId(peer: Peer): Uint8Array {
    const wanted = peer.props.get("identity");
    if (wanted?.length && !this.peers.some((p) => sameBytes(p.identity, wanted))) return wanted;
    const id = new Uint8Array(5); // libzmq style: 0 then a random 32-bit number
    crypto.getRandomValues(id.subarray(1));
    return id;
  }

  #command(peer: Peer, name: string, data: Uint8Array): void {
    if (this.type !== "PUB") return;
    if (name === "SUBSCRIBE") peer.topics.push(data.slice());
    if (name === "CANCEL") removeTopic(peer, data);
  }

  #received(peer: Peer, frames: Frames): void {
    switch (this.type) {
      case "PUB": { // legacy (ZMTP 3.0) subscriptions: \x01topic / \x00topic
        const m = frames[0];
        if (frames.length === 1 && m?.length && m[0] === 1) peer.topics.push(m.slice(1));
        else if (frames.length === 1 && m?.length && m[0] === 0) removeTopic(peer, m.subarray(1));
        return;
      }
      case "ROUTER":
        return this.#deliver([peer.identity, ...frames]);
      case "REP": {
        const cut = frames.findIndex((f) => f.length === 0);
        this.#repPending.push({ peer, envelope: frames.slice(0, cut + 1) });
        return this.#deliver(frames.slice(cut + 1));
      }
      case "REQ": {
        const cut = frames.findIndex((f) => f.length === 0);
        return this.#deliver(frames.slice(cut + 1));
      }
      default:
        return this.#deliver(frames);
    }
  }

  #deliver(frames: Frames): void {
    if (this.#onmessage) return this.#onmessage(frames);
    const waiter = this.#waiters.shift();
    if (waiter) waiter(frames);
    else this.#queue.push(frames);
  }
}

function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  return data.length >= prefix.length && sameBytes(data.subarray(0, prefix.length), prefix);
}

function removeTopic(peer: Peer, topic: Uint8Array): void {
  const i = peer.topics.findIndex((t) => sameBytes(t, topic));
  if (i >= 0) peer.topics.splice(i, 1);
}
