// The execution gate of the kernel proxy, as a pure state machine:
// `step(state, event, now)` returns the next state and the effects the proxy
// carries out (send a message, arm or clear a timer, signal the inner
// kernel). No sockets, files, signals or timers in here; the proxy feeds back
// what happened (a timer fired, a flush answer came, a signal failed).
//
// What it decides:
// - Client shell requests go to the inner kernel one cell at a time: after an
//   execute_request, the next request waits until that cell's idle went out
//   (the inner kernel labels an output with the cell running when the output
//   is published, so a cell sent early would take over the previous cell's
//   late outputs).
// - A cell's `idle` status is held until its outputs are all out: its
//   execute_reply came and then the inner kernel's flush answer (which comes
//   out of the same queue as the outputs, after them), or, when no flush could
//   be asked for, a quiet period passed with no output of that cell. While an
//   idle is held, iopub messages of other requests wait behind it.
// - Three timeouts keep a lost message from wedging the session: an idle whose
//   execute_reply never comes goes out after `replyWaitMs`, one whose flush
//   answer never comes after `flushWaitMs`; and a cell whose idle never comes
//   stops holding back the next requests `replyWaitMs` after its reply.
// - Interrupt: with the support code installed in the isolate, a signal asks
//   it to reject what the cell awaits; no answer within `interruptAckMs`
//   (a busy loop) falls back to the stock interrupt_request.
// - The inner kernel died: everything held goes out, timers are cleared, and
//   nothing more is forwarded.

/** Timings of the gate (ms). */
export interface GateConfig {
  /** Quiet period after which a cell's idle goes out when no flush could be asked for. */
  quietMs: number;
  /** How long an idle waits for its execute_reply (and a cell without idle holds the queue). */
  replyWaitMs: number;
  /** How long an idle waits for the flush answer. */
  flushWaitMs: number;
  /** How long an interrupt waits for the isolate's ack before the stock interrupt. */
  interruptAckMs: number;
}

/** The defaults: quiet 3 ms, reply and flush waits 2 s, interrupt ack 300 ms. */
export const GATE_DEFAULTS: GateConfig = {
  quietMs: 3,
  replyWaitMs: 2000,
  flushWaitMs: 2000,
  interruptAckMs: 300,
};

/** A cell forwarded to the inner kernel whose idle has not gone out yet. */
export interface Cell<M> {
  readonly msgId: string;
  /** When it was forwarded (ms since epoch): the interrupt rejects promises created since. */
  readonly forwardedAt: number;
  readonly replied: boolean;
  readonly flushed: boolean;
  /** A flush was asked for and its answer has not come. */
  readonly flushPending: boolean;
  /** Its idle status, held. */
  readonly idle?: M;
}

/** An iopub message from the inner kernel, as the gate sees it. */
export interface Output<M> {
  /** The msg_id of the request it belongs to ("" when none). */
  parentId: string;
  /** It is a `status` message with `execution_state: "idle"`. */
  idle: boolean;
  /** The message itself, passed through untouched. */
  msg: M;
}

/** A client shell request. */
export interface Request<M> {
  msgId: string;
  /** It is an `execute_request`. */
  execute: boolean;
  msg: M;
}

/** The gate's state. Treat as immutable: `step` returns a new one. */
export interface GateState<M> {
  readonly config: GateConfig;
  /** The support code runs in the isolate: flush and interrupt signals are answered. */
  readonly inside: boolean;
  /** The inner kernel exited. */
  readonly dead: boolean;
  readonly cells: ReadonlyMap<string, Cell<M>>;
  /** The cell the inner kernel runs; client requests queue behind it. */
  readonly running?: string;
  readonly queue: readonly Request<M>[];
  /** The cell whose idle is held. */
  readonly held?: string;
  /** iopub messages of other requests, waiting behind the held idle. */
  readonly backlog: readonly Output<M>[];
  /** Number of the last interrupt signalled. */
  readonly interrupts: number;
  /** The interrupt waiting for the isolate's ack. */
  readonly interrupting?: { id: number; cell: string };
}

/** What happened. */
export type GateEvent<M> =
  | { type: "inside_ready" }
  | { type: "request"; request: Request<M> }
  | { type: "execute_reply"; msgId: string }
  | { type: "output"; output: Output<M> }
  | { type: "flushed"; ids: readonly string[] }
  | { type: "flush_failed"; ids: readonly string[] }
  | { type: "interrupt" }
  | { type: "interrupt_ack"; id: number }
  | { type: "interrupt_failed"; id: number }
  | { type: "timer"; key: string }
  | { type: "inner_exited" };

/** What the proxy must do, in order. */
export type GateEffect<M> =
  | { type: "forward"; request: Request<M> }
  | { type: "publish"; msg: M }
  | { type: "set_timer"; key: string; ms: number }
  | { type: "clear_timer"; key: string }
  /** Write `ids` where the isolate reads them and signal it (SIGUSR2); on failure feed `flush_failed`. */
  | { type: "request_flush"; ids: string[] }
  /** Write `{ id, since }` and signal the isolate (SIGINT); on failure feed `interrupt_failed`. */
  | { type: "signal_interrupt"; id: number; since: number }
  /** Withdraw the unanswered interrupt `id` and send the stock interrupt_request. */
  | { type: "stock_interrupt"; id?: number };

/** The timers, by key. */
export const timerKey = {
  /** Lets a held idle out. */
  settle: (id: string): string => `settle:${id}`,
  /** Stops a replied cell whose idle never came from holding the queue. */
  reply: (id: string): string => `reply:${id}`,
  /** Gives up waiting for the interrupt ack. */
  interrupt: "interrupt",
} as const;

/** A gate with nothing running. */
export function initialGate<M>(config: Partial<GateConfig> = {}): GateState<M> {
  return {
    config: { ...GATE_DEFAULTS, ...config },
    inside: false,
    dead: false,
    cells: new Map(),
    queue: [],
    backlog: [],
    interrupts: 0,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type DraftState<M> = Omit<Mutable<GateState<M>>, "queue" | "backlog"> & {
  queue: Request<M>[];
  backlog: Output<M>[];
};

/** One transition: the state after `event` at time `now`, and the effects to carry out. */
export function step<M>(
  state: GateState<M>,
  event: GateEvent<M>,
  now: number,
): { state: GateState<M>; effects: GateEffect<M>[] } {
  if (state.dead) return { state, effects: [] };
  const g = new Draft(state, now);
  g.on(event);
  return { state: g.done(), effects: g.effects };
}

class Draft<M> {
  s: DraftState<M>;
  cells: Map<string, Cell<M>>;
  effects: GateEffect<M>[] = [];
  constructor(state: GateState<M>, readonly now: number) {
    this.s = { ...state, queue: [...state.queue], backlog: [...state.backlog] };
    this.cells = new Map(state.cells);
  }

  done(): GateState<M> {
    return { ...this.s, cells: this.cells };
  }

  emit(e: GateEffect<M>): void {
    this.effects.push(e);
  }

  patch(id: string, change: Partial<Mutable<Cell<M>>>): Cell<M> | undefined {
    const cell = this.cells.get(id);
    if (!cell) return undefined;
    const next = { ...cell, ...change };
    this.cells.set(id, next);
    return next;
  }

  on(e: GateEvent<M>): void {
    switch (e.type) {
      case "inside_ready":
        this.s.inside = true;
        return;
      case "request":
        this.s.queue.push(e.request);
        return this.forwardQueued();
      case "execute_reply":
        return this.executeReply(e.msgId);
      case "output":
        return this.output(e.output);
      case "flushed":
        for (const id of e.ids) {
          if (this.patch(id, { flushed: true, flushPending: false })) this.settle(id);
        }
        return;
      case "flush_failed":
        // The quiet period decides for these cells.
        for (const id of e.ids) if (this.patch(id, { flushPending: false })) this.settle(id);
        return;
      case "interrupt":
        return this.interrupt();
      case "interrupt_ack":
        if (this.s.interrupting?.id !== e.id) return;
        this.s.interrupting = undefined;
        return this.emit({ type: "clear_timer", key: timerKey.interrupt });
      case "interrupt_failed":
        if (this.s.interrupting?.id !== e.id) return;
        return this.stockInterrupt();
      case "timer":
        return this.timer(e.key);
      case "inner_exited":
        return this.innerExited();
    }
  }

  forwardQueued(): void {
    while (!this.s.running && this.s.queue.length) {
      const request = this.s.queue.shift()!;
      if (request.execute) {
        this.cells.set(request.msgId, {
          msgId: request.msgId,
          forwardedAt: this.now,
          replied: false,
          flushed: false,
          flushPending: false,
        });
        this.s.running = request.msgId;
      }
      this.emit({ type: "forward", request });
    }
  }

  executeReply(id: string): void {
    if (this.s.interrupting?.cell === id) {
      // The cell ended: no stock interrupt needed any more.
      this.s.interrupting = undefined;
      this.emit({ type: "clear_timer", key: timerKey.interrupt });
    }
    if (!this.patch(id, { replied: true })) return;
    this.flush(id);
    this.settle(id);
    this.emit({ type: "set_timer", key: timerKey.reply(id), ms: this.s.config.replyWaitMs });
  }

  /**
   * Ask the inner kernel to flush: its answer comes out after the cell's
   * outputs. Not when a cell still runs there (a client sending cells ahead):
   * the answer would wait for that cell, so the quiet period decides then.
   */
  flush(id: string): void {
    if (!this.s.inside || [...this.cells.values()].some((c) => !c.replied)) return;
    this.patch(id, { flushPending: true });
    const ids = [...this.cells.values()].filter((c) => c.flushPending).map((c) => c.msgId);
    this.emit({ type: "request_flush", ids });
  }

  /** Pass an iopub message on, holding a cell's idle until its outputs are out. */
  output(out: Output<M>): void {
    const held = this.s.held;
    if (held !== undefined) {
      if (out.parentId !== held) return void this.s.backlog.push(out);
      this.emit({ type: "publish", msg: out.msg });
      return this.settle(held); // an output of the held cell: quiet again from now
    }
    if (out.idle && this.cells.has(out.parentId)) {
      this.patch(out.parentId, { idle: out.msg });
      this.s.held = out.parentId;
      return this.settle(out.parentId);
    }
    this.emit({ type: "publish", msg: out.msg });
  }

  /**
   * Let a held idle out when its outputs are all out (replied, then
   * flushed); else (re)arm the timer that lets it out anyway.
   */
  settle(id: string): void {
    const cell = this.cells.get(id);
    if (!cell?.idle || this.s.held !== id) return;
    if (cell.replied && cell.flushed) return this.release(id);
    const { replyWaitMs, flushWaitMs, quietMs } = this.s.config;
    const ms = !cell.replied ? replyWaitMs : cell.flushPending ? flushWaitMs : quietMs;
    this.emit({ type: "set_timer", key: timerKey.settle(id), ms });
  }

  release(id: string): void {
    const cell = this.cells.get(id)!;
    this.emit({ type: "clear_timer", key: timerKey.settle(id) });
    this.emit({ type: "clear_timer", key: timerKey.reply(id) });
    this.emit({ type: "publish", msg: cell.idle! });
    this.cells.delete(id);
    this.s.held = undefined;
    if (this.s.running === id) {
      this.s.running = undefined;
      this.forwardQueued();
    }
    for (const out of this.s.backlog.splice(0)) this.output(out);
  }

  timer(key: string): void {
    if (key === timerKey.interrupt) {
      if (this.s.interrupting) this.stockInterrupt();
      return;
    }
    const [kind, id] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    if (kind === "settle" && this.s.held === id && this.cells.has(id)) return this.release(id);
    if (kind === "reply" && this.s.running === id && !this.cells.get(id)?.idle) {
      // Its idle never came: do not hold the next requests forever.
      this.s.running = undefined;
      this.forwardQueued();
    }
  }

  /**
   * Interrupt the running cell: the support code rejects what it awaits if
   * the isolate is idle; else (no ack in time) the stock interrupt.
   */
  interrupt(): void {
    const id = this.s.running;
    const cell = id === undefined ? undefined : this.cells.get(id);
    if (!cell || cell.replied || this.s.interrupting) return;
    if (!this.s.inside) return this.emit({ type: "stock_interrupt" });
    const n = ++this.s.interrupts;
    this.s.interrupting = { id: n, cell: cell.msgId };
    this.emit({ type: "signal_interrupt", id: n, since: cell.forwardedAt });
    this.emit({ type: "set_timer", key: timerKey.interrupt, ms: this.s.config.interruptAckMs });
  }

  stockInterrupt(): void {
    const id = this.s.interrupting?.id;
    this.s.interrupting = undefined;
    this.emit({ type: "clear_timer", key: timerKey.interrupt });
    this.emit({ type: "stock_interrupt", id });
  }

  innerExited(): void {
    for (const cell of this.cells.values()) {
      this.emit({ type: "clear_timer", key: timerKey.settle(cell.msgId) });
      this.emit({ type: "clear_timer", key: timerKey.reply(cell.msgId) });
    }
    if (this.s.interrupting) this.emit({ type: "clear_timer", key: timerKey.interrupt });
    // What came out still reaches the client, in order.
    const held = this.s.held === undefined ? undefined : this.cells.get(this.s.held);
    if (held?.idle) this.emit({ type: "publish", msg: held.idle });
    for (const out of this.s.backlog) this.emit({ type: "publish", msg: out.msg });
    this.cells.clear();
    Object.assign(this.s, {
      dead: true,
      running: undefined,
      held: undefined,
      interrupting: undefined,
      queue: [],
      backlog: [],
    });
  }
}
