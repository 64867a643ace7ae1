// Interrupting the lamindeno kernel (interrupt_mode "message"): a cell that
// awaits a long timer ends at once, a busy loop ends too, and the kernel
// keeps serving. (Stock deno 2.9.6 wedges on the first case, and so does the
// lamindeno kernel without the Promise tracking of kernel/_inside.ts.)
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { needsPython } from "../_python.ts";
import { kernelspecs, lastJson, runPython } from "./_jupyter.ts";

const py = needsPython("kernel interrupt", "jupyter_client");
const RUN = new URL("./_interrupt.py", import.meta.url).pathname;

type Outcome = {
  status: string;
  ename: string | null;
  seconds: number;
  errors: string[];
  results: string[];
};

Deno.test({
  name: "kernel: interrupt ends an awaiting cell and a busy loop; the kernel keeps serving",
  ...py,
  async fn() {
    await using specs = await kernelspecs();
    const r = await runPython(specs.env, [RUN, "lamindeno"]);
    assert(r.ok, r.stderr);
    const out = lastJson<Record<string, Outcome>>(r.stdout);
    assertEquals([out.await.status, out.await.ename], ["error", "Interrupted"]);
    assert(out.await.seconds < 2, `awaiting cell took ${out.await.seconds} s after the interrupt`);
    assertEquals(out.after_await.status, "ok");
    assertEquals(out.loop.status, "error");
    assert(out.loop.seconds < 3, `busy loop took ${out.loop.seconds} s after the interrupt`);
    assertEquals(out.after_loop.status, "ok");
  },
});

Deno.test({
  name:
    "kernel: without its Promise tracking (_inside.ts), an interrupt cannot end an awaiting cell",
  ...py,
  async fn() {
    await using specs = await kernelspecs();
    const env = { ...specs.env, LAMINDENO_KERNEL_TRACK_PROMISES: "0" };
    const r = await runPython(env, [RUN, "lamindeno", "await-only"]);
    assert(r.ok, r.stderr);
    const out = lastJson<Record<string, Outcome>>(r.stdout);
    // Stock deno's own interrupt wedges here; only rejecting the promises the
    // cell created (the replaced Promise constructor) ends the cell.
    assertEquals(out.await.status, "no reply");
  },
});

Deno.test({
  name: "kernel: an interrupt during a long save ends the cell at once, the save undone",
  ...py,
  async fn() {
    await using specs = await kernelspecs();
    const root = await Deno.makeTempDir({ prefix: "lamindeno-interrupt-save-" });
    const mod = new URL("../../mod.ts", import.meta.url).href;
    const cwd = new URL("../../notebooks/", import.meta.url).pathname;
    try {
      const r = await runPython(specs.env, [RUN, "lamindeno", "save", cwd, root, mod]);
      assert(r.ok, r.stderr);
      const out = lastJson<Record<string, Outcome>>(r.stdout);
      assertEquals(out.init.status, "ok");
      // The save checks for the interrupt between chunks (it yields, so the
      // isolate acknowledges at once): no stock termination, which left the
      // temporary file behind and answered after ~20 s with a bare "Error".
      assertEquals([out.save.status, out.save.ename], ["error", "Interrupted"]);
      assertEquals(out.save.errors, ["Interrupted"]);
      assert(out.save.seconds < 2, `the save took ${out.save.seconds} s after the interrupt`);
      const healthy = { leftovers: [], orphans: [], interrupted: [], missing: [], mismatched: [] };
      // (The result is the JSON string as deno shows it: in single quotes.)
      assertEquals(JSON.parse(out.fsck.results[0].slice(1, -1)), healthy);
      assertEquals(out.files.results, ["0"]);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
