// Test-only kernel hooks (loaded through LAMINDENO_KERNEL_HOOKS): each event
// becomes a JSON line in $LAMINDENO_TEST_HOOKS_OUT.
import type { KernelHooks } from "../../kernel/hooks.ts";

const out = Deno.env.get("LAMINDENO_TEST_HOOKS_OUT")!;
const log = (event: string, data: object = {}) =>
  Deno.writeTextFileSync(out, JSON.stringify({ event, ...data }) + "\n", { append: true });

/** Hooks that log every event; onExecuteRequest throws once to show errors are contained. */
export default function hooks(): KernelHooks {
  let thrown = false;
  return {
    onSessionStart: (info) => log("start", info),
    onExecuteRequest(msg) {
      log("request", msg);
      if (!thrown) {
        thrown = true;
        throw new Error("a failing hook must not break the kernel");
      }
    },
    onExecuteReply: (msg) => log("reply", msg),
    onKernelMessage: (msg) => log("kernel_message", msg),
    onShutdown: () => log("shutdown"),
  };
}
