// The kernel proxy's execution gate (kernel/_gate.ts), driven event by event
// with a simulated clock: when requests are forwarded, when a cell's idle is
// let out, and what interrupts and a dead inner kernel do.
import { assertEquals } from "../_helpers.ts";
import {
  type GateEffect,
  type GateEvent,
  type GateState,
  initialGate,
  step,
} from "../../kernel/_gate.ts";

const CONFIG = { quietMs: 3, replyWaitMs: 2000, flushWaitMs: 1500, interruptAckMs: 300 };

/** Runs the gate as the proxy does, with timers on a simulated clock. */
class Sim {
  state: GateState<string>;
  now = 1_000;
  timers = new Map<string, number>();
  /** Messages sent to the client (iopub), in order. */
  published: string[] = [];
  /** Requests sent to the inner kernel, in order. */
  forwarded: string[] = [];
  /** Flush, interrupt and signal effects, in order. */
  signals: GateEffect<string>[] = [];

  constructor(inside = true) {
    this.state = initialGate<string>(CONFIG);
    if (inside) this.send({ type: "inside_ready" });
  }

  send(event: GateEvent<string>): GateEffect<string>[] {
    const { state, effects } = step(this.state, event, this.now);
    this.state = state;
    for (const e of effects) {
      if (e.type === "publish") this.published.push(e.msg);
      else if (e.type === "forward") this.forwarded.push(e.request.msgId);
      else if (e.type === "set_timer") this.timers.set(e.key, this.now + e.ms);
      else if (e.type === "clear_timer") this.timers.delete(e.key);
      else this.signals.push(e);
    }
    return effects;
  }

  request(id: string, execute = true) {
    return this.send({ type: "request", request: { msgId: id, execute, msg: `request ${id}` } });
  }
  output(id: string, what: string) {
    const output = { parentId: id, idle: what === "idle", msg: `${what} ${id}` };
    return this.send({ type: "output", output });
  }
  reply(id: string) {
    return this.send({ type: "execute_reply", msgId: id });
  }

  /** Let `ms` pass, firing due timers in order. */
  advance(ms: number) {
    const end = this.now + ms;
    for (;;) {
      const due = [...this.timers].filter(([, t]) => t <= end).sort((a, b) => a[1] - b[1])[0];
      if (!due) break;
      this.now = due[1];
      this.timers.delete(due[0]);
      this.send({ type: "timer", key: due[0] });
    }
    this.now = end;
  }
}

Deno.test("gate: output that comes after the idle still goes out before it, once flushed", () => {
  const g = new Sim();
  g.request("A");
  g.output("A", "busy");
  g.output("A", "idle"); // stock deno: idle before the queued output
  g.output("A", "stream");
  g.reply("A");
  assertEquals(g.signals, [{ type: "request_flush", ids: ["A"] }]);
  assertEquals(g.published, ["busy A", "stream A"]);
  g.send({ type: "flushed", ids: ["A"] });
  assertEquals(g.published, ["busy A", "stream A", "idle A"]);
  assertEquals([g.state.cells.size, g.state.held, g.state.running, g.timers.size], [
    0,
    undefined,
    undefined,
    0,
  ]);
});

Deno.test("gate: a flush answer before the idle lets the idle out as soon as it comes", () => {
  const g = new Sim();
  g.request("A");
  g.reply("A");
  g.send({ type: "flushed", ids: ["A"] });
  assertEquals(g.published, []);
  g.output("A", "idle");
  assertEquals(g.published, ["idle A"]);
});

Deno.test("gate: two cells queued: the second is forwarded only after the first one's idle", () => {
  const g = new Sim();
  g.request("A");
  g.request("K", false); // a kernel_info_request queues too
  g.request("B");
  assertEquals(g.forwarded, ["A"]);
  g.reply("A");
  g.output("A", "idle");
  assertEquals(g.forwarded, ["A"]);
  g.send({ type: "flushed", ids: ["A"] });
  assertEquals(g.forwarded, ["A", "K", "B"]);
  assertEquals(g.state.running, "B");
});

Deno.test("gate: while an idle is held, other requests' messages wait behind it, in order", () => {
  const g = new Sim();
  g.request("A");
  g.reply("A");
  g.output("A", "idle");
  g.output("X", "status");
  g.output("Y", "comm_msg");
  g.output("A", "stream");
  assertEquals(g.published, ["stream A"]);
  g.send({ type: "flushed", ids: ["A"] });
  assertEquals(g.published, ["stream A", "idle A", "status X", "comm_msg Y"]);
});

Deno.test("gate: without the support code, the idle goes out after a quiet period", () => {
  const g = new Sim(false);
  g.request("A");
  g.reply("A");
  assertEquals(g.signals, []); // no flush asked
  g.output("A", "idle");
  g.advance(2);
  g.output("A", "stream"); // quiet again from here
  g.advance(2);
  assertEquals(g.published, ["stream A"]);
  g.advance(1);
  assertEquals(g.published, ["stream A", "idle A"]);
});

Deno.test("gate: a flush that cannot be asked for falls back to the quiet period", () => {
  const g = new Sim();
  g.request("A");
  g.output("A", "idle");
  g.reply("A");
  g.send({ type: "flush_failed", ids: ["A"] });
  g.advance(CONFIG.quietMs);
  assertEquals(g.published, ["idle A"]);
});

Deno.test("gate: a flush answer that never comes: the idle goes out after the flush timeout", () => {
  const g = new Sim();
  g.request("A");
  g.request("B");
  g.reply("A");
  g.output("A", "idle");
  g.advance(CONFIG.flushWaitMs - 1);
  assertEquals([g.published, g.forwarded], [[], ["A"]]);
  g.advance(1);
  assertEquals([g.published, g.forwarded], [["idle A"], ["A", "B"]]);
  g.send({ type: "flushed", ids: ["A"] }); // late: nothing happens
  assertEquals(g.published, ["idle A"]);
});

Deno.test("gate: an idle whose execute_reply never comes goes out after the reply timeout", () => {
  const g = new Sim();
  g.request("A");
  g.output("A", "idle");
  g.advance(CONFIG.replyWaitMs - 1);
  assertEquals(g.published, []);
  g.advance(1);
  assertEquals(g.published, ["idle A"]);
  g.reply("A"); // late: ignored
  assertEquals([g.published, g.signals], [["idle A"], []]);
});

Deno.test("gate: a cell whose idle never comes stops holding the queue after the reply timeout", () => {
  const g = new Sim();
  g.request("A");
  g.request("B");
  g.reply("A");
  g.send({ type: "flushed", ids: ["A"] });
  g.advance(CONFIG.replyWaitMs - 1);
  assertEquals(g.forwarded, ["A"]);
  g.advance(1);
  assertEquals(g.forwarded, ["A", "B"]);
});

Deno.test("gate: interrupt mid-cell, acknowledged by the isolate: no stock interrupt", () => {
  const g = new Sim();
  g.request("A");
  g.now += 50;
  g.send({ type: "interrupt" });
  assertEquals(g.signals, [{ type: "signal_interrupt", id: 1, since: 1_000 }]);
  g.send({ type: "interrupt_ack", id: 1 });
  g.advance(1000);
  assertEquals(g.signals.length, 1);
  g.reply("A");
  assertEquals(g.signals.at(-1)?.type, "request_flush");
});

Deno.test("gate: interrupt of a busy loop (no ack in time) falls back to the stock interrupt", () => {
  const g = new Sim();
  g.request("A");
  g.send({ type: "interrupt" });
  g.send({ type: "interrupt" }); // a second one while waiting: not signalled again
  g.advance(CONFIG.interruptAckMs - 1);
  assertEquals(g.signals.map((s) => s.type), ["signal_interrupt"]);
  g.advance(1);
  assertEquals(g.signals.at(-1), { type: "stock_interrupt", id: 1 });
  g.send({ type: "interrupt_ack", id: 1 }); // too late: nothing
  assertEquals(g.signals.length, 2);
});

Deno.test("gate: a cell that replies before the interrupt's ack needs no stock interrupt", () => {
  const g = new Sim();
  g.request("A");
  g.send({ type: "interrupt" });
  g.reply("A");
  g.advance(1000);
  assertEquals(g.signals.map((s) => s.type), ["signal_interrupt", "request_flush"]);
});

Deno.test("gate: interrupt without the support code, or when signalling fails: stock at once", () => {
  const plain = new Sim(false);
  plain.request("A");
  plain.send({ type: "interrupt" });
  assertEquals(plain.signals, [{ type: "stock_interrupt" }]);
  const failing = new Sim();
  failing.request("A");
  failing.send({ type: "interrupt" });
  failing.send({ type: "interrupt_failed", id: 1 });
  assertEquals(failing.signals.map((s) => s.type), ["signal_interrupt", "stock_interrupt"]);
  assertEquals(failing.timers.size, 0);
});

Deno.test("gate: nothing to interrupt when no cell runs or the running one has replied", () => {
  const g = new Sim();
  g.send({ type: "interrupt" });
  g.request("A");
  g.reply("A");
  g.send({ type: "interrupt" });
  assertEquals(g.signals.map((s) => s.type), ["request_flush"]);
});

Deno.test("gate: the inner kernel dies mid-cell: timers cleared, nothing more forwarded", () => {
  const g = new Sim();
  g.request("A");
  g.request("B");
  g.output("A", "stream");
  g.send({ type: "interrupt" });
  g.send({ type: "inner_exited" });
  assertEquals(g.timers.size, 0);
  assertEquals(g.state.dead, true);
  assertEquals(g.request("C"), []);
  assertEquals(g.output("A", "stream"), []);
  assertEquals([g.forwarded, g.published], [["A"], ["stream A"]]);
});

Deno.test("gate: the inner kernel dies while an idle is held: it and what waited go out", () => {
  const g = new Sim();
  g.request("A");
  g.reply("A");
  g.output("A", "idle");
  g.output("X", "status");
  g.send({ type: "inner_exited" });
  assertEquals(g.published, ["idle A", "status X"]);
  assertEquals(g.timers.size, 0);
});

Deno.test("gate: step leaves the state it was given unchanged", () => {
  const g = new Sim();
  g.request("A");
  g.reply("A");
  g.output("A", "idle");
  const before = g.state;
  const snapshot = structuredClone({ ...before, cells: [...before.cells] });
  step(before, { type: "flushed", ids: ["A"] }, 2_000);
  step(before, { type: "request", request: { msgId: "B", execute: true, msg: "" } }, 2_000);
  assertEquals(structuredClone({ ...before, cells: [...before.cells] }), snapshot);
});
