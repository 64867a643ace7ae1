// The lamindeno kernel: a proxy between a Jupyter client and the stock
// `deno jupyter --kernel`. Messages pass through untouched, except that
// (1) a cell's `idle` status is held until its outputs are all out,
// (2) ANSI colours are stripped from `text/plain` results,
// (3) interrupts also work while a cell awaits (1 and 3: see _inside.ts),
// and hooks hear about every cell for provenance recording.
import { basename, join } from "node:path";
import * as wire from "./_jupyter_msg.ts";
import { type Frames, sameBytes, Socket } from "./_zmtp.ts";
import { insideSupport } from "./_inside.ts";
import type { KernelHooks } from "./hooks.ts";

/** The fields of a Jupyter connection file the proxy uses. */
export interface ConnectionInfo {
  /** Address to bind. */
  ip: string;
  /** Only "tcp" is supported. */
  transport: string;
  /** HMAC key ("" for unsigned messages). */
  key: string;
  /** Only "hmac-sha256" is supported. */
  signature_scheme: string;
  /** Port of the shell channel (ROUTER). */
  shell_port: number;
  /** Port of the iopub channel (PUB). */
  iopub_port: number;
  /** Port of the stdin channel (ROUTER). */
  stdin_port: number;
  /** Port of the control channel (ROUTER). */
  control_port: number;
  /** Port of the heartbeat (REP). */
  hb_port: number;
}

/** Options of {@linkcode KernelProxy}. */
export interface ProxyOptions {
  /** The connection file the Jupyter client wrote. */
  connectionFile: string;
  /** Provenance hooks. */
  hooks?: KernelHooks;
  /**
   * Code the inner kernel runs (hidden) before the first cell. Default:
   * `LAMINDENO_KERNEL_PRELOAD`, else setting `globalThis.__lamindeno_kernel`
   * to `{ sessionId, connectionFile, early? }`.
   */
  preload?: string;
  /**
   * Fallback when the inner kernel cannot be asked to flush (its hidden setup
   * failed, or the client sent the next cell early): how long a cell's
   * outputs must have been quiet after its execute_reply and idle status
   * arrived before idle is passed on. Default: `LAMINDENO_KERNEL_QUIET_MS`,
   * else 3 ms.
   */
  quietMs?: number;
  /** The run started before the first cell (see `_early_run.ts`), told to the library inside. */
  early?: { run_id: string; root: string; registry?: unknown };
  /** The inner kernel's command, to which `--conn FILE` is appended. */
  innerCommand?: string[];
}

interface Execution {
  msgId: string;
  forwardedAt: number;
  replied: boolean;
  flushed: boolean;
  idle?: Frames;
  timer?: ReturnType<typeof setTimeout>;
}

// deno-lint-ignore no-control-regex
const ANSI_CSI = new RegExp("\\u001b\\[[0-?]*[ -/]*[@-~]", "g");
const RICH_OUTPUTS = new Set(["execute_result", "display_data", "update_display_data"]);
const MAX_ROUTES = 1000;
const INTERRUPT_ACK_MS = 300;
const REPLY_WAIT_MS = 2000; // an idle whose execute_reply never arrives goes out after this
const FLUSH_WAIT_MS = 2000; // an idle whose flush never comes back goes out after this

const dec = new TextDecoder();

/** Free TCP ports on `ip`, as the kernel's own launcher picks them. */
function freePorts(ip: string, n: number): number[] {
  const listeners = Array.from({ length: n }, () => Deno.listen({ hostname: ip, port: 0 }));
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

function parentArgv(): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${Deno.ppid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * A Jupyter kernel that runs `deno jupyter --kernel` as a child process and
 * relays every channel between it and the client.
 */
export class KernelProxy {
  /** This kernel session's id. */
  readonly sessionId: string = crypto.randomUUID();
  #opts: ProxyOptions;
  #hooks: KernelHooks;
  #failedHooks = new Set<string>();
  #info!: ConnectionInfo;
  #key = "";
  #quietMs: number;
  #dir = "";
  #child?: Deno.ChildProcess;

  // facing the client
  #shell = new Socket("ROUTER");
  #control = new Socket("ROUTER");
  #stdin = new Socket("ROUTER");
  #iopub = new Socket("PUB");
  #hb = new Socket("REP");
  // facing the inner kernel
  #innerShell = new Socket("DEALER");
  #innerControl = new Socket("DEALER");
  #innerStdin = new Socket("DEALER");
  #innerIopub = new Socket("SUB");

  /** Routing identities of requests awaiting a reply, by msg_id. */
  #shellRoutes = new Map<string, Frames>();
  #controlRoutes = new Map<string, Frames>();
  #lastShellRoute: Frames = [];
  #lastControlRoute: Frames = [];
  /** msg_ids of the proxy's own requests: their replies and outputs are swallowed. */
  #internal = new Set<string>();
  #onInternalReply = new Map<string, (msg: wire.Message) => void>();
  #executions = new Map<string, Execution>();
  /** The cell the inner kernel is running; client shell requests queue behind it. */
  #running?: Execution;
  #shellQueue: wire.Message[] = [];
  /** While an idle is held, other requests' iopub messages wait behind it. */
  #held?: Execution;
  #backlog: wire.Message[] = [];
  /** The hidden setup ran: the inner kernel handles SIGUSR2 (flush) and SIGINT. */
  #inside = false;
  #flushPending = new Set<string>();
  #interrupts = 0;
  #acks = new Set<number>();

  /** A proxy for the client described by `options.connectionFile`. */
  constructor(options: ProxyOptions) {
    this.#opts = options;
    this.#hooks = options.hooks ?? {};
    const quiet = options.quietMs ?? Number(Deno.env.get("LAMINDENO_KERNEL_QUIET_MS") ?? 3);
    this.#quietMs = Number.isFinite(quiet) && quiet >= 0 ? quiet : 3;
  }

  /** Start serving; resolves with the inner kernel's exit code once it has exited. */
  async start(): Promise<number> {
    const connectionFile = await Deno.realPath(this.#opts.connectionFile);
    this.#info = JSON.parse(await Deno.readTextFile(connectionFile));
    const { ip, transport, key, signature_scheme: scheme } = this.#info;
    if (transport !== "tcp") throw new Error(`unsupported transport ${transport}`);
    if (key && scheme !== "hmac-sha256") throw new Error(`unsupported signature ${scheme}`);
    this.#key = key;

    const argv = parentArgv();
    this.#callHook("onSessionStart", {
      kernelSessionId: this.sessionId,
      connectionFile,
      parentCommandLine: argv.join(" "),
      parentArgv: argv,
      cwd: Deno.cwd(),
    });

    // The inner kernel: same key, fresh ports, a private copy of the
    // connection file (same name, so the kernel id in it still reads right).
    const innerIp = "127.0.0.1";
    const [shell, iopub, stdin, control, hb] = freePorts(innerIp, 5);
    this.#dir = await Deno.makeTempDir({ prefix: "lamindeno-kernel-" });
    const innerFile = join(this.#dir, basename(connectionFile));
    await Deno.writeTextFile(
      innerFile,
      JSON.stringify({
        ...this.#info,
        ip: innerIp,
        shell_port: shell,
        iopub_port: iopub,
        stdin_port: stdin,
        control_port: control,
        hb_port: hb,
      }),
      { mode: 0o600 },
    );
    const [cmd, ...args] = this.#opts.innerCommand ?? [Deno.execPath(), "jupyter", "--kernel"];
    this.#child = new Deno.Command(cmd, {
      args: [...args, "--conn", innerFile],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();

    // Hidden requests go first into the inner shell's queue, ahead of anything
    // a client sends: the flush and interrupt support, then the configurable preload.
    this.#hidden(insideSupport(this.#dir), () => {
      this.#inside = true;
    });
    this.#hidden(this.#preloadCode(connectionFile));

    this.#wire();
    this.#hb.onmessage = (frames) => this.#hb.send(frames);
    this.#shell.bind(ip, this.#info.shell_port);
    this.#control.bind(ip, this.#info.control_port);
    this.#stdin.bind(ip, this.#info.stdin_port);
    this.#iopub.bind(ip, this.#info.iopub_port);
    this.#hb.bind(ip, this.#info.hb_port);

    const onInt = () => void this.interrupt();
    const onTerm = () => this.kill("SIGTERM");
    Deno.addSignalListener("SIGINT", onInt);
    Deno.addSignalListener("SIGTERM", onTerm);

    const status = this.#child.status;
    const connected = (async () => {
      this.#innerIopub.subscribe("");
      await this.#innerIopub.connect(innerIp, iopub);
      await Promise.all([
        this.#innerShell.connect(innerIp, shell),
        this.#innerControl.connect(innerIp, control),
        this.#innerStdin.connect(innerIp, stdin),
      ]);
    })();
    await Promise.race([connected, status]).catch((e) => {
      console.error(`lamindeno kernel: cannot reach the inner kernel: ${e}`);
      this.kill();
    });

    const { code } = await status;
    Deno.removeSignalListener("SIGINT", onInt);
    Deno.removeSignalListener("SIGTERM", onTerm);
    await this.#shutdown();
    return code;
  }

  /** Signal the inner kernel (default: kill it, for when the proxy itself fails). */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      this.#child?.kill(signal);
    } catch { /* already gone */ }
  }

  /**
   * Interrupt the running cell: reject what it awaits if the isolate is idle
   * (see _inside.ts), else V8-terminate it through the inner kernel.
   */
  async interrupt(): Promise<void> {
    const running = this.#running;
    if (!running || running.replied) return;
    if (this.#inside && this.#child) {
      const id = ++this.#interrupts;
      const file = join(this.#dir, "interrupt.json");
      await Deno.writeTextFile(file, JSON.stringify({ id, since: running.forwardedAt }));
      this.kill("SIGINT");
      const deadline = Date.now() + INTERRUPT_ACK_MS;
      while (Date.now() < deadline && !this.#acks.has(id) && !running.replied) {
        await new Promise((r) => setTimeout(r, 5));
      }
      if (this.#acks.has(id) || running.replied) return;
      await Deno.remove(file).catch(() => {});
    }
    const header = wire.newHeader("interrupt_request", this.sessionId);
    this.#internal.add(header.msg_id);
    this.#innerControl.send(wire.build(this.#key, { header, content: {} }));
  }

  #preloadCode(connectionFile: string): string {
    const preload = this.#opts.preload ?? Deno.env.get("LAMINDENO_KERNEL_PRELOAD");
    if (preload !== undefined) return preload;
    const info = {
      sessionId: this.sessionId,
      connectionFile,
      ...(this.#opts.early ? { early: this.#opts.early } : {}),
    };
    return `globalThis.__lamindeno_kernel = ${JSON.stringify(info)};`;
  }

  /** Send a silent execute_request of our own; `onOk` runs when it succeeded. */
  #hidden(code: string, onOk?: () => void): void {
    if (!code.trim()) return;
    const header = wire.newHeader("execute_request", this.sessionId);
    this.#internal.add(header.msg_id);
    this.#onInternalReply.set(header.msg_id, (msg) => {
      const c = wire.content<{ status: string; ename?: string; evalue?: string }>(msg);
      if (c.status === "ok") onOk?.();
      else console.error(`lamindeno kernel: hidden request failed: ${c.ename}: ${c.evalue}`);
    });
    const content = {
      code,
      silent: true,
      store_history: false,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: false,
    };
    this.#innerShell.send(wire.build(this.#key, { header, content }));
  }

  #wire(): void {
    // Client messages with a bad signature are dropped here already, as the
    // inner kernel would: the proxy acts on some (interrupts, hooks) itself.
    this.#shell.onmessage = (frames) => {
      const msg = this.#verified(frames);
      if (!msg) return;
      remember(this.#shellRoutes, msg.header.msg_id, msg.identities);
      this.#lastShellRoute = msg.identities;
      this.#shellQueue.push(msg);
      this.#forwardShell();
    };
    this.#control.onmessage = (frames) => {
      const msg = this.#verified(frames);
      if (!msg) return;
      this.#lastControlRoute = msg.identities;
      if (msg.header.msg_type === "interrupt_request") {
        // Answered here; the interrupt itself is ours to carry out.
        const header = wire.newHeader("interrupt_reply", this.sessionId);
        const reply = wire.build(this.#key, {
          header,
          parent: msg.header,
          content: { status: "ok" },
        });
        this.#control.send([...msg.identities, ...reply]);
        void this.interrupt();
        return;
      }
      remember(this.#controlRoutes, msg.header.msg_id, msg.identities);
      this.#innerControl.send(msg.body);
    };
    this.#stdin.onmessage = (frames) => {
      const msg = this.#verified(frames);
      if (msg) this.#innerStdin.send(msg.body);
    };

    this.#innerShell.onmessage = (frames) => {
      const msg = wire.parse(frames);
      if (!msg) return;
      const parentId = msg.parent.msg_id ?? "";
      if (this.#internal.has(parentId)) {
        this.#onInternalReply.get(parentId)?.(msg);
        this.#onInternalReply.delete(parentId);
        return;
      }
      const route = this.#shellRoutes.get(parentId) ?? this.#lastShellRoute;
      this.#shellRoutes.delete(parentId);
      this.#shell.send([...route, ...msg.body]);
      if (msg.header.msg_type === "execute_reply") this.#executeReply(msg);
    };
    this.#innerControl.onmessage = (frames) => {
      const msg = wire.parse(frames);
      if (!msg) return;
      const parentId = msg.parent.msg_id ?? "";
      if (this.#internal.delete(parentId)) return;
      const route = this.#controlRoutes.get(parentId) ?? this.#lastControlRoute;
      this.#controlRoutes.delete(parentId);
      this.#control.send([...route, ...msg.body]);
    };
    this.#innerStdin.onmessage = (frames) => {
      const msg = wire.parse(frames);
      if (!msg) return;
      // input_request: to the stdin socket of whoever sent the running request
      const route = this.#shellRoutes.get(msg.parent.msg_id ?? "");
      const peer = route && this.#stdin.peers.find((p) => sameBytes(p.identity, route[0]));
      if (peer) this.#stdin.send([peer.identity, ...msg.body]);
      else for (const p of this.#stdin.peers) this.#stdin.send([p.identity, ...msg.body]);
    };
    this.#innerIopub.onmessage = (frames) => this.#fromInnerIopub(frames);
  }

  #verified(frames: Frames): wire.Message | undefined {
    const msg = wire.parse(frames);
    return msg && wire.verify(this.#key, msg) ? msg : undefined;
  }

  /**
   * Forward queued client shell requests, stopping after an execute_request:
   * the next waits until that cell's idle went out. (The inner kernel runs
   * cells one by one anyway, but labels an output with the cell running when
   * the output is published, so a cell sent early would take over the
   * previous cell's late outputs.)
   */
  #forwardShell(): void {
    while (!this.#running && this.#shellQueue.length) {
      const msg = this.#shellQueue.shift()!;
      if (msg.header.msg_type === "execute_request") this.#executeRequest(msg);
      this.#innerShell.send(msg.body);
    }
  }

  #executeRequest(msg: wire.Message): void {
    const id = msg.header.msg_id;
    const ex = { msgId: id, forwardedAt: Date.now(), replied: false, flushed: false };
    this.#executions.set(id, ex);
    this.#running = ex;
    if (!this.#hooks.onExecuteRequest) return;
    const c = wire.content<{ code?: string; silent?: boolean }>(msg);
    const cellId = wire.metadata(msg).cellId;
    this.#callHook("onExecuteRequest", {
      msgId: id,
      code: c.code ?? "",
      cellId: typeof cellId === "string" ? cellId : undefined,
      silent: c.silent === true,
      startedAt: new Date(),
    });
  }

  #executeReply(msg: wire.Message): void {
    const ex = this.#executions.get(msg.parent.msg_id ?? "");
    if (ex) {
      ex.replied = true;
      this.#flush(ex);
      this.#settle(ex);
      // Should its idle never come, do not hold the next requests forever.
      setTimeout(() => {
        if (this.#running === ex && !ex.idle) {
          this.#running = undefined;
          this.#forwardShell();
        }
      }, REPLY_WAIT_MS);
    }
    if (!this.#hooks.onExecuteReply) return;
    const c = wire.content<{ status: string; execution_count?: number; ename?: string }>(msg);
    this.#callHook("onExecuteReply", {
      msgId: msg.parent.msg_id ?? "",
      executionCount: c.execution_count ?? 0,
      status: c.status === "error" ? "error" : c.status === "aborted" ? "aborted" : "ok",
      errorName: c.status === "error" ? c.ename : undefined,
      endedAt: new Date(),
    });
  }

  #fromInnerIopub(frames: Frames): void {
    const msg = wire.parse(frames);
    if (!msg) return this.#iopub.send(frames);
    const parentId = msg.parent.msg_id ?? "";
    if (this.#internal.has(parentId)) return; // outputs of our hidden requests
    const type = msg.header.msg_type;
    if (type.startsWith("lamindeno_")) {
      const c = wire.content(msg);
      if (type === "lamindeno_flush") this.#flushed(c.ids);
      else if (type === "lamindeno_interrupt_ack") this.#acks.add(Number(c.id));
      else this.#callHook("onKernelMessage", { msgType: type, content: c, parentMsgId: parentId });
      return;
    }
    if (RICH_OUTPUTS.has(type)) {
      const c = wire.content<{ data?: Record<string, unknown> }>(msg);
      const plain = c.data?.["text/plain"];
      if (typeof plain === "string" && plain.includes("\u001b[")) {
        c.data!["text/plain"] = plain.replace(ANSI_CSI, "");
        const stripped = wire.parse(wire.withContent(this.#key, msg, c));
        if (stripped) return this.#publish(stripped);
      }
    }
    this.#publish(msg);
  }

  /** Pass an iopub message on, holding a cell's idle until its outputs are out. */
  #publish(msg: wire.Message): void {
    const parentId = msg.parent.msg_id ?? "";
    const held = this.#held;
    if (held) {
      if (parentId !== held.msgId) return void this.#backlog.push(msg);
      this.#iopub.send(msg.body);
      return this.#settle(held);
    }
    const ex = this.#executions.get(parentId);
    if (ex && msg.header.msg_type === "status") {
      const state = JSON.parse(dec.decode(msg.body[5])).execution_state;
      if (state === "idle") {
        ex.idle = msg.body;
        this.#held = ex;
        return this.#settle(ex);
      }
    }
    this.#iopub.send(msg.body);
  }

  /**
   * Ask the inner kernel to flush: its answer comes out after the cell's
   * outputs. Not when a next cell is already queued there (a client sending
   * cells ahead): the answer would wait for that cell, so the quiet period
   * decides then.
   */
  #flush(ex: Execution): void {
    if (!this.#inside || [...this.#executions.values()].some((e) => !e.replied)) return;
    this.#flushPending.add(ex.msgId);
    try {
      const file = join(this.#dir, "flush.json");
      Deno.writeTextFileSync(`${file}.tmp`, JSON.stringify([...this.#flushPending]));
      Deno.renameSync(`${file}.tmp`, file);
      this.#child?.kill("SIGUSR2"); // throws where there are no signals
    } catch {
      this.#flushPending.delete(ex.msgId); // the quiet period decides
    }
  }

  #flushed(ids: unknown): void {
    for (const id of Array.isArray(ids) ? ids : []) {
      this.#flushPending.delete(id);
      const ex = this.#executions.get(id);
      if (!ex) continue;
      ex.flushed = true;
      this.#settle(ex);
    }
  }

  /**
   * Let a held idle out when its outputs are all out, i.e. the execute_reply
   * came and then the flush answer (or, without a flush, a quiet period
   * passed); else (re)arm the timer that lets it out anyway.
   */
  #settle(ex: Execution): void {
    if (!ex.idle || this.#held !== ex) return;
    clearTimeout(ex.timer);
    if (ex.replied && ex.flushed) return this.#release(ex);
    const wait = !ex.replied
      ? REPLY_WAIT_MS
      : this.#flushPending.has(ex.msgId)
      ? FLUSH_WAIT_MS
      : this.#quietMs;
    ex.timer = setTimeout(() => this.#release(ex), wait);
  }

  #release(ex: Execution): void {
    clearTimeout(ex.timer);
    this.#flushPending.delete(ex.msgId);
    this.#iopub.send(ex.idle!);
    this.#executions.delete(ex.msgId);
    this.#held = undefined;
    if (this.#running === ex) {
      this.#running = undefined;
      this.#forwardShell();
    }
    for (const msg of this.#backlog.splice(0)) this.#publish(msg);
  }

  #callHook<K extends keyof KernelHooks>(
    name: K,
    ...args: Parameters<NonNullable<KernelHooks[K]>>
  ): Promise<void> | void {
    const hook = this.#hooks[name] as ((...a: unknown[]) => unknown) | undefined;
    if (!hook) return;
    const failed = (e: unknown) => {
      if (this.#failedHooks.has(name)) return;
      this.#failedHooks.add(name);
      console.error(`lamindeno kernel: hook ${name} failed (reported once):`, e);
    };
    try {
      const r = hook.apply(this.#hooks, args);
      if (r instanceof Promise) return r.then(() => {}, failed);
    } catch (e) {
      failed(e);
    }
  }

  async #shutdown(): Promise<void> {
    const done = this.#callHook("onShutdown");
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([done, new Promise((r) => timer = setTimeout(r, 5000))]);
    clearTimeout(timer);
    const outer = [this.#shell, this.#control, this.#stdin, this.#iopub, this.#hb];
    await Promise.race([
      Promise.all(outer.map((s) => s.flush())),
      new Promise((r) => setTimeout(r, 1000)),
    ]);
    for (const s of outer) s.close();
    for (const s of [this.#innerShell, this.#innerControl, this.#innerStdin, this.#innerIopub]) {
      s.close();
    }
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

function remember(routes: Map<string, Frames>, msgId: string, identities: Frames): void {
  routes.set(msgId, identities);
  if (routes.size > MAX_ROUTES) routes.delete(routes.keys().next().value!);
}
