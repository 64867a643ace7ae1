// A notebook run by nbclient through the lamindeno kernel: outputs produced
// after an await all arrive before the cell's idle status, and the hooks see
// every cell, including the failing one.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { join } from "node:path";
import { needsPython } from "../_python.ts";
import { kernelspecs, lastJson, runPython } from "./_jupyter.ts";

const py = needsPython("kernel notebook", "jupyter_client", "nbclient", "nbformat");
const RUN = new URL("./_notebook.py", import.meta.url).pathname;
const HOOKS = new URL("./_hooks_fixture.ts", import.meta.url).pathname;

const CELLS = [
  'await new Promise((r) => setTimeout(r, 30));\nconsole.log("after await");\n6 * 7',
  'throw new TypeError("deliberate")',
  "typeof globalThis.__lamindeno_kernel?.sessionId",
  "await Deno.jupyter.display({ a: 1 })",
];

type Cell = { id: string; count: number; outputs: Record<string, string>[] };
type Event = { event: string; [k: string]: unknown };

Deno.test({
  name: "kernel: nbclient gets every output, before idle; hooks record each cell",
  ...py,
  async fn() {
    await using specs = await kernelspecs();
    const out = join(specs.dir, "hooks.jsonl");
    const env = { ...specs.env, LAMINDENO_KERNEL_HOOKS: HOOKS, LAMINDENO_TEST_HOOKS_OUT: out };
    const r = await runPython(env, [RUN, "lamindeno", JSON.stringify(CELLS)]);
    assert(r.ok, r.stderr);
    const cells = lastJson<Cell[]>(r.stdout);
    assertEquals(cells.map((c) => c.outputs), [
      [{ stream: "stdout", text: "after await\n" }, { execute_result: "42" }],
      [{ error: "TypeError", value: "deliberate" }],
      [{ execute_result: '"string"' }],
      [{ display_data: "{ a: 1 }" }],
    ]);
    assert(r.stderr.includes("hook onExecuteRequest failed (reported once)"), r.stderr);

    const events: Event[] = (await Deno.readTextFile(out)).trim().split("\n").map((l) =>
      JSON.parse(l)
    );
    assertEquals(events.map((e) => e.event), [
      "start",
      ...cells.flatMap(() => ["request", "reply"]),
      "shutdown",
    ]);
    const start = events[0];
    assert(String(start.connectionFile).endsWith(".json"));
    assert(String(start.parentCommandLine).includes("_notebook.py"));
    const requests = events.filter((e) => e.event === "request");
    const replies = events.filter((e) => e.event === "reply");
    assertEquals(requests.map((e) => e.cellId), cells.map((c) => c.id));
    assertEquals(requests.map((e) => e.code), CELLS);
    assertEquals(replies.map((e) => e.msgId), requests.map((e) => e.msgId));
    assertEquals(replies.map((e) => [e.status, e.errorName, e.executionCount]), [
      ["ok", undefined, 1],
      ["error", "TypeError", 2],
      ["ok", undefined, 3],
      ["ok", undefined, 4],
    ]);
  },
});
