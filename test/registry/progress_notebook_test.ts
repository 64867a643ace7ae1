// Progress and logging in a notebook: a real `deno jupyter --kernel`, spoken
// to over ZMQ (the lamindeno kernel's own ZMTP client), runs a cell that
// saves a 20 MB file; the iopub messages must hold one updating display
// (display_data, then update_display_data of the same display_id, ending at
// 100%) and the info message on stdout, not stderr.
import { join } from "node:path";
import { assert, assertEquals, tempDir } from "../_helpers.ts";
import { Socket } from "../../kernel/_zmtp.ts";
import { build, content, newHeader, parse } from "../../kernel/_jupyter_msg.ts";

const REPO = new URL("../../", import.meta.url).pathname;

function freePorts(n: number): number[] {
  const ls = Array.from({ length: n }, () => Deno.listen({ hostname: "127.0.0.1", port: 0 }));
  const ports = ls.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of ls) l.close();
  return ports;
}

const CELL = (dir: string) => `
import * as ln from "${join(REPO, "mod.ts")}";
const bytes = new Uint8Array(20_000_000);
for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
await Deno.writeFile("${dir}/big.bin", bytes);
await ln.init({ storage: "${dir}/root" });
await new ln.File("${dir}/big.bin", { key: "big.bin" }).save();
await new ln.File("${dir}/big.bin").save(); // the same content: an info message
await ln.close();
"done";
`;

Deno.test({
  name: "in a notebook, saving a large file shows one updating display and info on stdout",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await tempDir();
    const [shell, iopub, stdin, control, hb] = freePorts(5);
    const key = crypto.randomUUID();
    const conn = join(dir, "kernel.json");
    await Deno.writeTextFile(
      conn,
      JSON.stringify({
        ip: "127.0.0.1",
        transport: "tcp",
        shell_port: shell,
        iopub_port: iopub,
        stdin_port: stdin,
        control_port: control,
        hb_port: hb,
        key,
        signature_scheme: "hmac-sha256",
        kernel_name: "deno",
      }),
    );
    const kernel = new Deno.Command(Deno.execPath(), {
      args: ["jupyter", "--kernel", "--conn", conn],
      cwd: REPO,
      env: { LAMIN_LOG_LEVEL: "info", NO_COLOR: "1" },
      stdout: "null",
      stderr: "null",
    }).spawn();
    const sub = new Socket("SUB");
    const dealer = new Socket("DEALER", { identity: crypto.randomUUID() });
    try {
      await sub.connect("127.0.0.1", iopub);
      sub.subscribe("");
      await dealer.connect("127.0.0.1", shell);
      const session = crypto.randomUUID();
      const header = newHeader("execute_request", session);
      // The SUB subscription needs a moment to reach the kernel before output flows.
      await new Promise((r) => setTimeout(r, 500));
      dealer.send(build(key, {
        header,
        content: {
          code: CELL(dir),
          silent: false,
          store_history: true,
          user_expressions: {},
          allow_stdin: false,
          stop_on_error: true,
        },
      }));
      const seen: { type: string; content: Record<string, unknown> }[] = [];
      const deadline = Date.now() + 120_000;
      while (Date.now() < deadline) {
        const msg = parse(await sub.recv());
        if (!msg || msg.parent.msg_id !== header.msg_id) continue;
        const c = content(msg);
        seen.push({ type: msg.header.msg_type, content: c });
        if (msg.header.msg_type === "status" && c.execution_state === "idle") break;
      }
      const types = seen.map((m) => m.type);
      assert(!types.includes("error"), JSON.stringify(seen.filter((m) => m.type === "error")));
      const displays = seen.filter((m) => m.type.endsWith("display_data"));
      // hash and copy, then the second save's hash: each one display, created once and then
      // updated in place.
      const ids = [
        ...new Set(
          displays.map((m) => (m.content.transient as { display_id?: string })?.display_id),
        ),
      ];
      assertEquals(ids.length, 3, JSON.stringify(types));
      assert(ids.every((id) => typeof id === "string"));
      const phases = [];
      for (const id of ids) {
        const mine = displays.filter((m) =>
          (m.content.transient as { display_id?: string }).display_id === id
        );
        assertEquals(mine[0].type, "display_data");
        assert(mine.length >= 2 && mine.slice(1).every((m) => m.type === "update_display_data"));
        const last = (mine.at(-1)!.content.data as Record<string, string>)["text/plain"];
        assert(/big\.bin (hash|copy) \[█+\] 100%/.test(last), last);
        phases.push(/ (hash|copy) /.exec(last)![1]);
      }
      assertEquals(phases, ["hash", "copy", "hash"]);
      const streams = seen.filter((m) => m.type === "stream");
      const out = streams.filter((m) => m.content.name === "stdout").map((m) => m.content.text)
        .join("");
      const err = streams.filter((m) => m.content.name === "stderr").map((m) => m.content.text)
        .join("");
      assert(/lamindeno info: returning existing file/.test(out), `stdout: ${out}`);
      assert(!/lamindeno info/.test(err), `stderr: ${err}`);
      assert(!/[█░]/.test(out + err), "no terminal bar in the notebook's streams");
    } finally {
      sub.close();
      dealer.close();
      try {
        kernel.kill("SIGKILL");
      } catch { /* gone */ }
      await kernel.status;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
