// An exclusive lock between processes (opening an embedded registry): under
// Deno an advisory file lock (flock, released by the OS when the process
// dies); Node and Bun have none, so there a lock file created exclusively,
// holding the pid, taken over when that process is gone. A leaf next to
// src/_runtime.ts: imports node: built-ins only.
import * as fs from "node:fs";
import process from "node:process";

interface DenoFiles {
  open(path: string, o: { read: boolean; write: boolean; create: boolean }): Promise<{
    lock(exclusive: boolean): Promise<void>;
    close(): void;
  }>;
}

/**
 * An exclusive lock on `path` between processes, released when disposed.
 * Under Deno an advisory file lock (`flock`, released by the OS when the
 * process dies); elsewhere (Node, Bun have none) a lock file created
 * exclusively, holding our pid, taken over when that process is gone.
 * The two kinds do not exclude each other: open one embedded registry
 * from one runtime at a time.
 */
export async function lockFile(path: string): Promise<Disposable> {
  const deno = (globalThis as { Deno?: DenoFiles }).Deno;
  if (deno) {
    const f = await deno.open(path, { read: true, write: true, create: true });
    try {
      await f.lock(true);
    } catch (e) {
      f.close();
      throw e;
    }
    return { [disposeSymbol]: () => f.close() };
  }
  return await pidLock(`${path}.pid`);
}

/** A file that no lock holder leaves empty for this long was left by a crash. */
const EMPTY_LOCK_MS = 10_000;

/**
 * An exclusive lock between processes as a file `held` created exclusively
 * holding our pid (removed when disposed); a file whose process is gone is
 * taken over.
 */
export async function pidLock(held: string): Promise<Disposable> {
  for (let wait = 5;; wait = Math.min(wait * 2, 200)) {
    try {
      fs.writeFileSync(held, String(process.pid), { flag: "wx" });
      return {
        [disposeSymbol]: () => {
          try {
            fs.unlinkSync(held);
          } catch { /* already gone */ }
        },
      };
    } catch (e) {
      if ((e as { code?: unknown })?.code !== "EEXIST") throw e;
    }
    try {
      const text = fs.readFileSync(held, "utf8");
      const owner = Number(text);
      const dead = text === ""
        ? Date.now() - fs.statSync(held).mtimeMs > EMPTY_LOCK_MS
        : Number.isInteger(owner) && owner > 0 && !alive(owner);
      // Its process died holding it. (Read again just before: a waiter that
      // took it over meanwhile wrote its own pid.)
      if (dead && fs.readFileSync(held, "utf8") === text) fs.unlinkSync(held);
      if (dead) continue;
    } catch { /* released or taken over meanwhile */ }
    await new Promise((r) => setTimeout(r, wait));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown })?.code === "EPERM";
  }
}

/** `Symbol.dispose` (Node 20 defines it; older runtimes use the registered symbol). */
const disposeSymbol: typeof Symbol.dispose = Symbol.dispose ??
  (Symbol.for("Symbol.dispose") as typeof Symbol.dispose);
