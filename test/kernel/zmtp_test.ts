// The ZMTP 3.0 sockets of kernel/_zmtp.ts against each other over plain TCP,
// and the Jupyter wire format of kernel/_jupyter_msg.ts.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { commandBody, type Frames, parseCommand, Peer, Socket } from "../../kernel/_zmtp.ts";
import * as wire from "../../kernel/_jupyter_msg.ts";
import { needsPython, python } from "../_python.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const bytes = (...s: string[]): Frames => s.map((x) => enc.encode(x));
const text = (f: Frames) => f.map((x) => dec.decode(x));
const HOST = "127.0.0.1";

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert(cond(), `timed out waiting for ${what}`);
}

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  for (let o = 0; o < n;) {
    const got = await conn.read(out.subarray(o));
    if (got === null) throw new Error("closed");
    o += got;
  }
  return out;
}

Deno.test("zmtp: greeting is 64 octets (signature, 3.0, NULL), then READY with Socket-Type", async () => {
  const router = new Socket("ROUTER");
  const port = router.bind(HOST, 0);
  const conn = await Deno.connect({ hostname: HOST, port });
  try {
    const g = await readExactly(conn, 64);
    assertEquals([g[0], g[9], g[10], g[11], g[32]], [0xff, 0x7f, 3, 0, 0]);
    assertEquals(dec.decode(g.subarray(12, 32)).replace(/\0+$/, ""), "NULL");
    const [flags, size] = await readExactly(conn, 2);
    assertEquals(flags, 0x04); // a short command frame
    const cmd = parseCommand(await readExactly(conn, size));
    assertEquals(cmd.name, "READY");
    assertEquals(dec.decode(cmd.props.get("socket-type")), "ROUTER");
  } finally {
    conn.close();
    router.close();
  }
});

Deno.test("zmtp: DEALER/ROUTER multipart with short and long frames; replies by identity", async () => {
  const router = new Socket("ROUTER");
  const port = router.bind(HOST, 0);
  const a = new Socket("DEALER", { identity: "alice" });
  const b = new Socket("DEALER", { identity: "bob" });
  const anon = new Socket("DEALER");
  try {
    await Promise.all([a.connect(HOST, port), b.connect(HOST, port), anon.connect(HOST, port)]);
    const big = "x".repeat(70_000);
    a.send(bytes("from a", big, ""));
    const fromA = text(await router.recv());
    assertEquals(fromA, ["alice", "from a", big, ""]);
    b.send(bytes("from b"));
    assertEquals(text(await router.recv()), ["bob", "from b"]);
    anon.send(bytes("from anon"));
    const [anonId, body] = await router.recv();
    assertEquals([anonId.length, anonId[0], dec.decode(body)], [5, 0, "from anon"]);

    router.send(bytes("bob", "to b"));
    router.send(bytes("alice", "to a", "second frame"));
    router.send([anonId, ...bytes("to anon")]);
    router.send(bytes("nobody", "dropped"));
    assertEquals(text(await a.recv()), ["to a", "second frame"]);
    assertEquals(text(await b.recv()), ["to b"]);
    assertEquals(text(await anon.recv()), ["to anon"]);
  } finally {
    for (const s of [a, b, anon, router]) s.close();
  }
});

Deno.test("zmtp: a DEALER queues messages until it has connected", async () => {
  const port = (() => {
    const l = Deno.listen({ hostname: HOST, port: 0 });
    const p = (l.addr as Deno.NetAddr).port;
    l.close();
    return p;
  })();
  const dealer = new Socket("DEALER");
  dealer.send(bytes("early"));
  const connecting = dealer.connect(HOST, port, 5000);
  await new Promise((r) => setTimeout(r, 50)); // the first attempts are refused
  const router = new Socket("ROUTER");
  router.bind(HOST, port);
  try {
    await connecting;
    assertEquals(text(await router.recv()).slice(1), ["early"]);
  } finally {
    dealer.close();
    router.close();
  }
});

Deno.test("zmtp: PUB/SUB delivers by topic prefix", async () => {
  const pub = new Socket("PUB");
  const port = pub.bind(HOST, 0);
  const news = new Socket("SUB");
  const all = new Socket("SUB");
  try {
    news.subscribe("news");
    all.subscribe("");
    await Promise.all([news.connect(HOST, port), all.connect(HOST, port)]);
    await until(() => pub.peers.length === 2 && pub.peers.every((p) => p.topics.length), "subs");
    pub.send(bytes("sports", "0:0"));
    pub.send(bytes("news.local", "rain"));
    assertEquals(text(await news.recv()), ["news.local", "rain"]);
    assertEquals(text(await all.recv()), ["sports", "0:0"]);
    assertEquals(text(await all.recv()), ["news.local", "rain"]);
  } finally {
    for (const s of [news, all, pub]) s.close();
  }
});

Deno.test("zmtp: PUB honours ZMTP 3.1 SUBSCRIBE/CANCEL commands too", async () => {
  const pub = new Socket("PUB");
  const port = pub.bind(HOST, 0);
  const got: string[][] = [];
  const peer = new Peer(await Deno.connect({ hostname: HOST, port }), "SUB", undefined, {
    ready() {},
    message: (_, frames) => got.push(text(frames)),
    command() {},
  });
  try {
    await peer.ready;
    const command = (name: string, topic: string) =>
      peer.send([new Uint8Array([...commandBody(name), ...enc.encode(topic)])], true);
    command("SUBSCRIBE", "a");
    await until(() => pub.peers[0]?.topics.length === 1, "the subscription");
    pub.send(bytes("b", "skipped"));
    pub.send(bytes("a", "delivered"));
    await until(() => got.length === 1, "a message");
    command("CANCEL", "a");
    await until(() => pub.peers[0]?.topics.length === 0, "the cancellation");
    assertEquals(got, [["a", "delivered"]]);
  } finally {
    peer.close();
    pub.close();
  }
});

Deno.test("zmtp: REQ/REP round trip (the heartbeat)", async () => {
  const rep = new Socket("REP");
  rep.onmessage = (frames) => rep.send(frames);
  const port = rep.bind(HOST, 0);
  const req = new Socket("REQ");
  try {
    await req.connect(HOST, port);
    for (const ping of ["ping", "pong", "x".repeat(300)]) {
      req.send(bytes(ping));
      assertEquals(text(await req.recv()), [ping]);
    }
  } finally {
    req.close();
    rep.close();
  }
});

Deno.test("jupyter wire: build, parse, verify, re-sign a changed content", () => {
  const key = "secret";
  const header = wire.newHeader("execute_result", "session-1");
  const frames = [enc.encode("route"), ...wire.build(key, { header, content: { a: 1 } })];
  const msg = wire.parse(frames)!;
  assertEquals(text(msg.identities), ["route"]);
  assertEquals(msg.header, header);
  assertEquals(msg.parent, {});
  assertEquals(wire.content(msg), { a: 1 });
  assert(wire.verify(key, msg));
  assert(!wire.verify("other key", msg));
  const changed = wire.parse(wire.withContent(key, msg, { a: 2 }))!;
  assertEquals(wire.content(changed), { a: 2 });
  assertEquals(text(changed.identities), ["route"]);
  assert(wire.verify(key, changed));
  assertEquals(wire.parse(bytes("no", "delimiter")), undefined);
});

const LIBZMQ_CLIENT = `
import json, sys, zmq
ctx = zmq.Context()
ctx.setsockopt(zmq.RCVTIMEO, 5000)
ctx.setsockopt(zmq.LINGER, 0)
url = lambda port: "tcp://127.0.0.1:" + port
out = {}
d = ctx.socket(zmq.DEALER)
d.setsockopt(zmq.IDENTITY, b"py")
d.connect(url(sys.argv[1]))
d.send_multipart([b"a", b"b" * 1000])
out["dealer"] = [len(f) for f in d.recv_multipart()]
s = ctx.socket(zmq.SUB)
s.setsockopt(zmq.SUBSCRIBE, b"t")
s.connect(url(sys.argv[2]))
out["sub"] = [f.decode() for f in s.recv_multipart()]
q = ctx.socket(zmq.REQ)
q.connect(url(sys.argv[3]))
q.send_multipart([b"ping", b""])
out["req"] = [f.decode() for f in q.recv_multipart()]
print(json.dumps(out))
`;

Deno.test({
  name: "zmtp: libzmq (pyzmq) DEALER, SUB and REQ talk to our ROUTER, PUB and REP",
  ...needsPython("zmtp interop", "zmq"),
  async fn() {
    const router = new Socket("ROUTER");
    router.onmessage = ([id, ...rest]) => router.send([id, enc.encode("to"), ...rest.reverse()]);
    const pub = new Socket("PUB");
    const rep = new Socket("REP");
    rep.onmessage = (frames) => rep.send(frames);
    const ports = [router.bind(HOST, 0), pub.bind(HOST, 0), rep.bind(HOST, 0)];
    const ticker = setInterval(() => {
      pub.send(bytes("u", "not subscribed"));
      pub.send(bytes("topic", "news"));
    }, 10);
    try {
      const out = JSON.parse(await python(LIBZMQ_CLIENT, ...ports.map(String)));
      assertEquals(out, { dealer: [2, 1000, 1], sub: ["topic", "news"], req: ["ping", ""] });
    } finally {
      clearInterval(ticker);
      for (const s of [router, pub, rep]) s.close();
    }
  },
});
