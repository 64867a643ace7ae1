// jupyter_kernel_test's conformance suite, in full, against the lamindeno
// kernel; the stock deno kernel's result is printed for comparison.
import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { needsPython } from "../_python.ts";
import { kernelspecs, lastJson, runPython } from "./_jupyter.ts";

const py = needsPython("kernel conformance", "jupyter_client", "jupyter_kernel_test");
const SUITE = new URL("./_kernel_tests.py", import.meta.url).pathname;

type Outcome = { ran: number; failed: string[]; skipped: string[] };

Deno.test({
  name: "kernel: jupyter_kernel_test passes against lamindeno (stock deno shown for comparison)",
  ...py,
  async fn() {
    await using specs = await kernelspecs();
    const run = async (kernel: string) => {
      const r = await runPython({ ...specs.env, KERNEL_NAME: kernel }, [SUITE]);
      if (!r.stdout.trim()) throw new Error(`${kernel}: the suite did not run:\n${r.stderr}`);
      return { outcome: lastJson<Outcome>(r.stdout), log: r.stderr };
    };
    const [ours, stock] = await Promise.all([run("lamindeno"), run("deno")]);
    console.log(
      `stock deno: ${stock.outcome.ran} tests, failing: ${
        stock.outcome.failed.join(", ") || "none"
      }`,
    );
    assertEquals(ours.outcome.failed, [], ours.log);
    assertEquals(ours.outcome.ran, 12);
    // What the kernel does not support (history, inspect, pager) is skipped.
    assertEquals(ours.outcome.skipped.map((s) => s.split(" ")[0]), [
      "test_history",
      "test_history",
      "test_history",
      "test_inspect",
      "test_pager",
    ]);
  },
});
