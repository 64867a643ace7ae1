// The lamindeno kernel: a proxy between a Jupyter client and the stock
// `deno jupyter --kernel`. Messages pass through untouched, except that
// (1) a cell's `idle` status is held until its outputs are all out,
// (2) ANSI colours are stripped from `text/plain` results,
// (3) interrupts also work while a cell awaits (1 and 3: see _inside.ts),
// and hooks hear about every cell for provenance recording. When requests
// and idle go out, and what an interrupt does, is decided by the pure state
// machine in _gate.ts; this file carries out its effects (sockets, timers,
// the files and signals of _inside.ts).
import { redactError } from "../src/_redact.ts";
import * as wire from "./_jupyter_msg.ts";
import { type Frames, sameBytes, Socket } from "./_zmtp.ts";
import { insideSupport, requestFlush, signalInterrupt, withdrawInterrupt } from "./_inside.ts";
import type { KernelHooks } from "./hooks.ts";
import * as gate from "./_gate.ts";
import { type ConnectionInfo, parentArgv, spawnInner } from "./_inner.ts";
import {
  FLUSH_MESSAGE,
  INTERRUPT_ACK_MESSAGE,
  kernelGlobalCode,
  MESSAGE_PREFIX,
  readFlushAnswer,
  readInterruptAck,
  type RunAnnouncement,
} from "../src/track/kernel_messages.ts";

export type { ConnectionInfo } from "./_inner.ts";

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
  early?: RunAnnouncement;
  /**
   * Start that run once the client's ports are ours (a kernel that cannot
   * listen leaves no run behind); replaces `early`.
   */
  startRun?: () => Promise<RunAnnouncement | undefined>;
  /** The inner kernel's command, to which `--conn FILE` is appended. */
  innerCommand?: string[];
}

// deno-lint-ignore no-control-regex
const ANSI_CSI = new RegExp("\\u001b\\[[0-?]*[ -/]*[@-~]", "g");
const RICH_OUTPUTS = new Set(["execute_result", "display_data", "update_display_data"]);
const MAX_ROUTES = 1000;

const dec = new TextDecoder();

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
  /** The execution gate (_gate.ts), its timers, and events waiting to be stepped. */
  #gate: gate.GateState<wire.Message>;
  #timers = new Map<string, ReturnType<typeof setTimeout>>();
  #events: gate.GateEvent<wire.Message>[] = [];
  #stepping = false;
  #early?: RunAnnouncement;
  #executes = 0;

  /** The run started before the first cell, if any (`early` or `startRun`). */
  get early(): RunAnnouncement | undefined {
    return this.#early;
  }

  /** How many execute requests the client sent (the proxy's own not counted). */
  get executeRequests(): number {
    return this.#executes;
  }

  /** A proxy for the client described by `options.connectionFile`. */
  constructor(options: ProxyOptions) {
    this.#opts = options;
    this.#hooks = options.hooks ?? {};
    const quiet = options.quietMs ?? Number(Deno.env.get("LAMINDENO_KERNEL_QUIET_MS") ?? 3);
    const quietMs = Number.isFinite(quiet) && quiet >= 0 ? quiet : gate.GATE_DEFAULTS.quietMs;
    this.#gate = gate.initialGate({ quietMs });
    this.#early = options.early;
  }

  /** Start serving; resolves with the inner kernel's exit code once it has exited. */
  async start(): Promise<number> {
    const connectionFile = await Deno.realPath(this.#opts.connectionFile);
    this.#info = JSON.parse(await Deno.readTextFile(connectionFile));
    const { ip, transport, key, signature_scheme: scheme } = this.#info;
    if (transport !== "tcp") throw new Error(`unsupported transport ${transport}`);
    if (key && scheme !== "hmac-sha256") throw new Error(`unsupported signature ${scheme}`);
    this.#key = key;
    // The client's ports first: a port taken meanwhile (Jupyter picks them
    // before we bind) fails here, before a run exists or a child runs.
    // Requests arriving before #wire() wait in the sockets' queues.
    this.#shell.bind(ip, this.#info.shell_port);
    this.#control.bind(ip, this.#info.control_port);
    this.#stdin.bind(ip, this.#info.stdin_port);
    this.#iopub.bind(ip, this.#info.iopub_port);
    this.#hb.bind(ip, this.#info.hb_port);
    if (this.#opts.startRun) this.#early = await this.#opts.startRun();

    const argv = parentArgv();
    this.#callHook("onSessionStart", {
      kernelSessionId: this.sessionId,
      connectionFile,
      parentCommandLine: argv.join(" "),
      parentArgv: argv,
      cwd: Deno.cwd(),
    });

    this.#dir = await Deno.makeTempDir({ prefix: "lamindeno-kernel-" });
    const inner = await spawnInner(this.#info, connectionFile, this.#dir, this.#opts.innerCommand);
    this.#child = inner.child;
    const { ip: innerIp, shell, iopub, stdin, control } = inner;

    // Hidden requests go first into the inner shell's queue, ahead of anything
    // a client sends: the flush and interrupt support, then the configurable preload.
    this.#hidden(insideSupport(this.#dir), () => this.#dispatch({ type: "inside_ready" }));
    this.#hidden(this.#preloadCode(connectionFile));

    this.#wire();
    this.#hb.onmessage = (frames) => this.#hb.send(frames);

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
    this.#dispatch({ type: "inner_exited" });
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
  interrupt(): void {
    this.#dispatch({ type: "interrupt" });
  }

  #preloadCode(connectionFile: string): string {
    const preload = this.#opts.preload ?? Deno.env.get("LAMINDENO_KERNEL_PRELOAD");
    if (preload !== undefined) return preload;
    return kernelGlobalCode({
      sessionId: this.sessionId,
      connectionFile,
      ...(this.#early ? { early: this.#early } : {}),
    });
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
    // Client messages with a bad signature, or malformed, are dropped here
    // already, as the inner kernel would: the proxy acts on some (interrupts,
    // hooks) itself.
    this.#shell.onmessage = (frames) => {
      const msg = this.#verified(frames);
      if (!msg) return;
      remember(this.#shellRoutes, msg.header.msg_id, msg.identities);
      this.#lastShellRoute = msg.identities;
      const execute = msg.header.msg_type === "execute_request";
      if (execute) this.#executes++;
      this.#dispatch({ type: "request", request: { msgId: msg.header.msg_id, execute, msg } });
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
        this.interrupt();
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

  /**
   * A client's message, signed with our key and well formed (headers,
   * metadata and content JSON objects); anything else is dropped: a request
   * the proxy cannot read would be forwarded by the gate but never answered,
   * holding back every later cell.
   */
  #verified(frames: Frames): wire.Message | undefined {
    const msg = wire.parse(frames);
    return msg && wire.verify(this.#key, msg) && wire.wellFormed(msg) ? msg : undefined;
  }

  /** Step the gate through `event` (and what its effects feed back), carrying out the effects. */
  #dispatch(event: gate.GateEvent<wire.Message>): void {
    this.#events.push(event);
    if (this.#stepping) return;
    this.#stepping = true;
    try {
      for (let e; (e = this.#events.shift());) {
        const { state, effects } = gate.step(this.#gate, e, Date.now());
        this.#gate = state;
        for (const effect of effects) this.#effect(effect);
      }
    } finally {
      this.#stepping = false;
    }
  }

  #effect(e: gate.GateEffect<wire.Message>): void {
    switch (e.type) {
      case "forward":
        if (e.request.execute) this.#executeRequest(e.request.msg);
        return this.#innerShell.send(e.request.msg.body);
      case "publish":
        return this.#iopub.send(e.msg.body);
      case "set_timer": {
        clearTimeout(this.#timers.get(e.key));
        const timer = setTimeout(() => {
          this.#timers.delete(e.key);
          this.#dispatch({ type: "timer", key: e.key });
        }, e.ms);
        this.#timers.set(e.key, timer);
        return;
      }
      case "clear_timer":
        clearTimeout(this.#timers.get(e.key));
        this.#timers.delete(e.key);
        return;
      case "request_flush":
        if (!requestFlush(this.#dir, this.#child!, e.ids)) {
          this.#dispatch({ type: "flush_failed", ids: e.ids });
        }
        return;
      case "signal_interrupt":
        if (!signalInterrupt(this.#dir, this.#child!, e.id, e.since)) {
          this.#dispatch({ type: "interrupt_failed", id: e.id });
        }
        return;
      case "stock_interrupt": {
        if (e.id !== undefined) withdrawInterrupt(this.#dir);
        const header = wire.newHeader("interrupt_request", this.sessionId);
        this.#internal.add(header.msg_id);
        this.#innerControl.send(wire.build(this.#key, { header, content: {} }));
        return;
      }
    }
  }

  #executeRequest(msg: wire.Message): void {
    if (!this.#hooks.onExecuteRequest) return;
    const c = wire.content<{ code?: string; silent?: boolean }>(msg);
    const cellId = wire.metadata(msg).cellId;
    this.#callHook("onExecuteRequest", {
      msgId: msg.header.msg_id,
      code: c.code ?? "",
      cellId: typeof cellId === "string" ? cellId : undefined,
      silent: c.silent === true,
      startedAt: new Date(),
    });
  }

  #executeReply(msg: wire.Message): void {
    this.#dispatch({ type: "execute_reply", msgId: msg.parent.msg_id ?? "" });
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
    if (type.startsWith(MESSAGE_PREFIX)) {
      const c = wire.content(msg);
      if (type === FLUSH_MESSAGE) {
        const answer = readFlushAnswer(c);
        if (answer) this.#dispatch({ type: "flushed", ids: answer.ids });
      } else if (type === INTERRUPT_ACK_MESSAGE) {
        const ack = readInterruptAck(c);
        if (ack) this.#dispatch({ type: "interrupt_ack", id: ack.id });
      } else {
        this.#callHook("onKernelMessage", { msgType: type, content: c, parentMsgId: parentId });
      }
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

  /** An iopub message for the client, through the gate (which holds a cell's idle). */
  #publish(msg: wire.Message): void {
    let idle = false;
    if (msg.header.msg_type === "status") {
      try {
        idle = JSON.parse(dec.decode(msg.body[5])).execution_state === "idle";
      } catch { /* not ours to judge: passed on */ }
    }
    this.#dispatch({ type: "output", output: { parentId: msg.parent.msg_id ?? "", idle, msg } });
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
      console.error(`lamindeno kernel: hook ${name} failed (reported once):`, redactError(e));
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
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

function remember(routes: Map<string, Frames>, msgId: string, identities: Frames): void {
  routes.set(msgId, identities);
  if (routes.size > MAX_ROUTES) routes.delete(routes.keys().next().value!);
}
