// A whole kernel session through jupyter_client: cells sent ahead keep their
// outputs apart, forged requests are dropped, stdin, heartbeat, restart and
// shutdown work through the proxy, and nothing is left behind.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { needsPython } from "../_python.ts";
import { kernelspecs, lastJson, runPython } from "./_jupyter.ts";

const py = needsPython("kernel session", "jupyter_client");
const RUN = new URL("./_session.py", import.meta.url).pathname;
const MALFORMED = new URL("./_malformed.py", import.meta.url).pathname;

Deno.test({
  name: "kernel: cells sent ahead, forged requests, stdin, heartbeat, restart, shutdown",
  ...py,
  async fn() {
    await using specs = await kernelspecs();
    const r = await runPython(specs.env, [RUN, "lamindeno"]);
    assert(r.ok, r.stderr);
    const numbers = Array.from({ length: 20 }, (_, i) => [1, "stream", `${i}\n`]);
    assertEquals(lastJson(r.stdout), {
      pipelined: [
        [0, "stream", "a\n"],
        [0, "execute_result", "1"],
        [0, "idle"],
        ...numbers,
        [1, "execute_result", "2"],
        [1, "idle"],
        [2, "execute_result", '"three"'],
        [2, "idle"],
      ],
      forged_dropped: true,
      stray_shell: [],
      input_request: "name?",
      result: '"hi bob"',
      heartbeat: true,
      restart_cleaned_up: true,
      after_restart: "ok",
      shutdown_cleaned_up: true,
    });
  },
});

Deno.test({
  name: "kernel: malformed requests signed with the right key are dropped; the next cell runs",
  ...py,
  async fn() {
    await using specs = await kernelspecs();
    const r = await runPython(specs.env, [MALFORMED, "lamindeno"]);
    assert(r.ok, r.stderr);
    const cases = [
      "header null",
      "header array",
      "msg_id an object",
      "parent null",
      "metadata null",
      "metadata not JSON",
      "content null",
      "content not JSON",
      "content not UTF-8",
    ];
    assertEquals(lastJson(r.stdout), Object.fromEntries(cases.map((c) => [c, "ok"])));
  },
});
