/**
 * The `lamindeno` Jupyter kernel: a proxy in front of `deno jupyter` that
 * records every executed cell as part of the notebook's run.
 *
 * Install its kernelspec with
 * `deno run -A jsr:@lamindeno/lamindb/kernel install [--user | --prefix DIR] [--storage DIR] [--db URL]`
 * (`install --help` lists every option)
 * (from a checkout: `deno task kernel:install`); Jupyter then starts it as
 * `deno run -A <this module> --conn FILE`.
 *
 * @module
 */
// Hooks: kernel/record.ts's `recordingHooks()`, plus the module named by
// LAMINDENO_KERNEL_HOOKS (its default export or `hooks`: hooks or a function
// returning them). With LAMINDENO_STORAGE set, the notebook's run is started
// here before the first cell (kernel/_early_run.ts).
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { combineHooks, type KernelHooks } from "./hooks.ts";
import { KernelProxy } from "./proxy.ts";
import { discardEarlyRun, earlyRun } from "./_early_run.ts";
import { RUN_MESSAGE } from "../src/track/kernel_messages.ts";

export type { KernelHooks } from "./hooks.ts";

/** The connection file from `--conn FILE`, `--conn=FILE` or `-f FILE`. */
export function connectionFileArg(args: string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--conn" || args[i] === "-f") return args[i + 1];
    if (args[i].startsWith("--conn=")) return args[i].slice("--conn=".length);
  }
  return undefined;
}

/** The hooks to run: recording hooks and the optional LAMINDENO_KERNEL_HOOKS module. */
export async function loadHooks(): Promise<KernelHooks> {
  const list: KernelHooks[] = [];
  const load = async (what: string, get: () => Promise<unknown>) => {
    try {
      const h = await get();
      if (h) list.push(h as KernelHooks);
    } catch (e) {
      console.error(`lamindeno kernel: no hooks from ${what}:`, e);
    }
  };
  const record = new URL("./record.ts", import.meta.url);
  if (await Deno.stat(record).then(() => true, () => false)) {
    await load("kernel/record.ts", async () => (await import("./record.ts")).recordingHooks());
  }
  const extra = Deno.env.get("LAMINDENO_KERNEL_HOOKS");
  if (extra) {
    await load(extra, async () => {
      // A file: URL template, which `deno publish` leaves as it is (an
      // absolute URL needs no import map), rather than warning about.
      const mod = await import(`file://${pathToFileURL(resolve(extra)).pathname}`);
      const h = mod.default ?? mod.hooks;
      return typeof h === "function" ? await h() : h;
    });
  }
  return list.length === 1 ? list[0] : combineHooks(...list);
}

if (import.meta.main && Deno.args[0] === "install") {
  // `deno run -A jsr:@lamindeno/lamindb/kernel install [...]`
  const { installCli } = await import("./install.ts");
  Deno.exit(await installCli(Deno.args.slice(1)));
} else if (import.meta.main) {
  const usage = "usage: deno run -A kernel/main.ts --conn CONNECTION_FILE   (what Jupyter runs)\n" +
    "       deno run -A kernel/main.ts install [--help] [options]   (install the kernelspec)";
  if (Deno.args[0] === "--help" || Deno.args[0] === "-h") {
    console.log(usage);
    Deno.exit(0);
  }
  const connectionFile = connectionFileArg(Deno.args);
  if (!connectionFile) {
    console.error(usage);
    Deno.exit(2);
  }
  const hooks = await loadHooks();
  const storage = Deno.env.get("LAMINDENO_STORAGE");
  const db = Deno.env.get("LAMINDENO_DB");
  const startRun = storage
    ? async () => {
      const early = await earlyRun(storage, db);
      if (early) hooks.onKernelMessage?.({ msgType: RUN_MESSAGE, content: early });
      return early;
    }
    : undefined;
  const proxy = new KernelProxy({ connectionFile, hooks, ...(startRun ? { startRun } : {}) });
  // Should the proxy itself fail, take the inner kernel down with it.
  globalThis.addEventListener("error", () => proxy.kill());
  globalThis.addEventListener("unhandledrejection", () => proxy.kill());
  const code = await proxy.start();
  // A session that never got a cell (its inner kernel failed to start, the
  // client gave up) leaves no empty run behind.
  if (storage && proxy.early && proxy.executeRequests === 0) {
    await discardEarlyRun(storage, db, proxy.early);
  }
  Deno.exit(code);
}
