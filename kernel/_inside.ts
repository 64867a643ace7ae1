// Code the proxy runs inside the inner kernel (by a hidden, silent request)
// to fix two things it cannot fix from outside. Both are driven by signals:
// the isolate handles them whenever it is not running JS, and anything it
// sends with Deno.jupyter.broadcast goes through the same queue as the
// cells' own outputs, so it comes out after them.
//
// SIGUSR2, "flush": stock `deno jupyter` publishes a cell's outputs from a
// queue that can lag behind its execute_reply and idle status. After a
// cell's execute_reply, the proxy writes the ids of the cells it waits for to
// `flush.json` and signals; the answer `lamindeno_flush {ids}` comes out of
// the queue after all those cells' outputs, so then their idle can follow.
//
// SIGINT, "interrupt": stock `deno jupyter` interrupts with V8
// TerminateExecution, which stops a busy loop but wedges the kernel when the
// cell awaits a promise (the promise's callback gets terminated later, so the
// cell never ends). Here `new Promise(...)` and `Promise.withResolvers()`
// remember how to reject each pending promise; on SIGINT the ones created
// since the `since` time in `interrupt.json` (the interrupted cell's) are
// rejected with an `Interrupted` error, and `lamindeno_interrupt_ack {id}`
// tells the proxy the isolate was idle. No ack means a busy loop, which the
// proxy then terminates the stock way. The handler also sets the global
// `__lamindeno_interrupt` ({ at }): the library's long writes (a save's
// hashing and copying) check it at their safe points, between chunks, and
// stop with an `Interrupted` error after undoing what they did
// (src/_interrupt.ts); they yield often enough for the ack to come in time.
//
// Both sides of this side channel are here: `insideSupport()` is the
// isolate's, `requestFlush()`, `signalInterrupt()` and `withdrawInterrupt()`
// the proxy's (it calls them as effects of the gate, _gate.ts).

import { join } from "node:path";
import {
  FLUSH_MESSAGE,
  INTERRUPT_ACK_MESSAGE,
  INTERRUPT_GLOBAL,
} from "../src/track/kernel_messages.ts";

/** Options of {@linkcode insideSupport}. */
export interface InsideOptions {
  /**
   * Replace `globalThis.Promise` to remember how to reject pending promises
   * (default true; `LAMINDENO_KERNEL_TRACK_PROMISES=0` turns it off). Without
   * it an interrupt cannot end a cell that awaits: test/kernel/interrupt_test.ts
   * shows the cell running on.
   */
  trackPromises?: boolean;
}

/** Code for the inner kernel installing the flush and interrupt handlers; files live in `dir`. */
export function insideSupport(dir: string, options: InsideOptions = {}): string {
  const names = { flush: FLUSH_MESSAGE, ack: INTERRUPT_ACK_MESSAGE, mark: INTERRUPT_GLOBAL };
  const track = options.trackPromises ?? Deno.env.get("LAMINDENO_KERNEL_TRACK_PROMISES") !== "0";
  const args = [dir, names, track].map((a) => JSON.stringify(a)).join(", ");
  return `(${install.toString()})(${args});`;
}

/**
 * The proxy's side of the flush: write the ids of the cells waited for, then
 * signal. False when that is not possible (no signals on this platform).
 */
export function requestFlush(dir: string, child: Deno.ChildProcess, ids: string[]): boolean {
  try {
    const file = join(dir, "flush.json");
    Deno.writeTextFileSync(`${file}.tmp`, JSON.stringify(ids));
    Deno.renameSync(`${file}.tmp`, file);
    child.kill("SIGUSR2"); // throws where there are no signals
    return true;
  } catch {
    return false;
  }
}

/** The proxy's side of an interrupt: write `{ id, since }`, then signal. False when not possible. */
export function signalInterrupt(
  dir: string,
  child: Deno.ChildProcess,
  id: number,
  since: number,
): boolean {
  try {
    Deno.writeTextFileSync(join(dir, "interrupt.json"), JSON.stringify({ id, since }));
    child.kill("SIGINT");
    return true;
  } catch {
    return false;
  }
}

/** Withdraw an unanswered interrupt (the isolate is busy; the stock interrupt follows). */
export function withdrawInterrupt(dir: string): void {
  try {
    Deno.removeSync(join(dir, "interrupt.json"));
  } catch { /* answered meanwhile, or never written */ }
}

// Runs inside the inner kernel's isolate (serialized with toString()), so it
// imports nothing: the message names come as arguments.
function install(
  dir: string,
  names: { flush: string; ack: string; mark: string },
  trackPromises: boolean,
): void {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  if (g.__lamindeno_inside) return;
  const read = (name: string) => {
    try {
      return JSON.parse(Deno.readTextFileSync(`${dir}/${name}`));
    } catch {
      return undefined; // not a request from the proxy (e.g. Ctrl-C in a terminal)
    }
  };
  const broadcast = (type: string, content: unknown) => g.Deno.jupyter.broadcast(type, content);

  Deno.addSignalListener("SIGUSR2", () => {
    const ids = read("flush.json");
    if (ids) broadcast(names.flush, { ids });
  });

  type Settle = (x: unknown) => void;
  type Entry = { reject: Settle; at: number };
  const pending = new Set<Entry>();
  const track = (executor: (resolve: Settle, reject: Settle) => unknown) =>
  (
    resolve: Settle,
    reject: Settle,
  ) => {
    const entry = { reject, at: Date.now() };
    pending.add(entry);
    const done = () => pending.delete(entry);
    try {
      return executor((v) => (done(), resolve(v)), (e) => (done(), reject(e)));
    } catch (e) {
      done();
      throw e;
    }
  };
  const Native = Promise;
  const resolveNative = Native.resolve.bind(Native);
  const withResolvers = () => {
    let resolve, reject;
    const promise = new Tracked((a: Settle, b: Settle) => {
      resolve = a;
      reject = b;
    });
    return { promise, resolve, reject };
  };
  const Tracked: PromiseConstructor = new Proxy(Native, {
    construct(target, args, newTarget) {
      if (typeof args[0] === "function") args = [track(args[0]), ...args.slice(1)];
      return Reflect.construct(target, args, newTarget === Tracked ? target : newTarget);
    },
    get(target, prop, receiver) {
      // Promise.resolve(p) must keep returning p itself for native promises
      // (subclasses, the receiver otherwise, keep the native statics).
      if (receiver === Tracked && prop === "resolve") return resolveNative;
      if (receiver === Tracked && prop === "withResolvers") return withResolvers;
      return Reflect.get(target, prop, receiver);
    },
  });
  if (trackPromises) g.Promise = Tracked;

  Deno.addSignalListener("SIGINT", () => {
    const req = read("interrupt.json");
    if (!req) return;
    try {
      Deno.removeSync(`${dir}/interrupt.json`);
    } catch { /* the proxy gave up on us */ }
    // The library's writes see this at their next safe point and stop there,
    // undoing what they did (src/_interrupt.ts).
    g[names.mark] = { at: Date.now() };
    const error = new Error("execution interrupted");
    error.name = "Interrupted";
    let rejected = 0;
    for (const e of [...pending]) {
      if (e.at < req.since) continue;
      pending.delete(e);
      e.reject(error);
      rejected++;
    }
    broadcast(names.ack, { id: req.id, rejected });
  });
  g.__lamindeno_inside = { pending };
}
