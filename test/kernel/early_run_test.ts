// With LAMINDENO_STORAGE the kernel starts the notebook's run before the first
// cell. A kernel session that never ran a cell must not leave that run behind:
// Jupyter retries a kernel whose port was taken meanwhile, and each failed
// start would otherwise add an empty run to the registry.
import * as ln from "../../mod.ts";
import { Socket } from "../../kernel/_zmtp.ts";
import { freePorts } from "../../kernel/_inner.ts";
import { assert, assertEquals, tempDir } from "../_helpers.ts";

const MAIN = new URL("../../kernel/main.ts", import.meta.url).pathname;

async function connectionFile(dir: string, shellPort?: number): Promise<string> {
  const [shell, iopub, stdin, control, hb] = freePorts("127.0.0.1", 5);
  const file = `${dir}/kernel-test.json`;
  await Deno.writeTextFile(
    file,
    JSON.stringify({
      ip: "127.0.0.1",
      transport: "tcp",
      key: crypto.randomUUID(),
      signature_scheme: "hmac-sha256",
      shell_port: shellPort ?? shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
    }),
  );
  return file;
}

function kernel(conn: string, storage: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "--conn", conn],
    env: { LAMINDENO_STORAGE: storage, LAMIN_LOG_LEVEL: "error" },
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function runsIn(storage: string): Promise<number> {
  await ln.init({ storage });
  try {
    return (await ln.Run.filter({})).length;
  } finally {
    await ln.close();
  }
}

Deno.test({
  name: "a kernel whose client port is taken exits before starting a run",
  sanitizeResources: false,
  async fn() {
    const root = await tempDir();
    const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const conn = await connectionFile(root, (taken.addr as Deno.NetAddr).port);
      const child = kernel(conn, `${root}/data`);
      const [status, err] = await Promise.all([
        child.status,
        new Response(child.stderr).text(),
      ]);
      assert(!status.success, "the kernel cannot serve a port it cannot bind");
      assert(/AddrInUse|address already in use/i.test(err), err);
      assertEquals(await runsIn(`${root}/data`), 0, "no run for a kernel that never listened");
    } finally {
      taken.close();
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "a kernel stopped before its first cell removes the run it started (a run with cells stays: notebooks_test)",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const root = await tempDir();
    try {
      const conn = await connectionFile(root);
      const info = JSON.parse(await Deno.readTextFile(conn));
      const child = kernel(conn, `${root}/data`);
      const stderr = new Response(child.stderr).text();
      // The heartbeat answers once the proxy is wired, i.e. after the run started.
      const hb = new Socket("REQ");
      await hb.connect("127.0.0.1", info.hb_port, 60_000);
      hb.send([new TextEncoder().encode("ping")]);
      await hb.recv();
      hb.close();
      assertEquals(await runsIn(`${root}/data`), 1, "the run exists before the first cell");
      child.kill("SIGTERM");
      const status = await child.status;
      const err = await stderr;
      assert(!/cannot remove/.test(err), err);
      assertEquals(status.code === 0 || status.signal === null, true, err);
      assertEquals(await runsIn(`${root}/data`), 0, "the unused run is gone");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
