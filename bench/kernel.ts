// Kernel latency: 200 trivial cells (`1`) through the stock `deno jupyter`
// kernel and through the lamindeno proxy, driven by jupyter_client from
// /usr/bin/python3. A cell's latency is from sending execute_request until
// both its execute_reply and its idle status arrived (what a front end waits
// for). Prints the median per cell of each and the added latency (target
// <= 5 ms). Run: deno run -A bench/kernel.ts [cells]
import { join } from "node:path";

const CELLS = Number(Deno.args[0] ?? 200);
const INSTALL = new URL("../kernel/install.ts", import.meta.url).pathname;

const DRIVER = `
import json, statistics, sys, time
from jupyter_client.manager import start_new_kernel

km, kc = start_new_kernel(kernel_name=sys.argv[1])

def cell(code):
    t0 = time.perf_counter()
    msg_id = kc.execute(code)
    replied = idle = False
    while not replied:
        replied = kc.get_shell_msg(timeout=10)["parent_header"].get("msg_id") == msg_id
    while not idle:
        m = kc.get_iopub_msg(timeout=10)
        idle = (m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "status"
                and m["content"]["execution_state"] == "idle")
    return (time.perf_counter() - t0) * 1000

for _ in range(20):
    cell("1")  # warm up
ms = sorted(cell("1") for _ in range(int(sys.argv[2])))
km.shutdown_kernel()
print(json.dumps({"median": statistics.median(ms), "p90": ms[int(len(ms) * 0.9)]}))
`;

const dir = await Deno.makeTempDir({ prefix: "lamindeno-kernel-bench-" });
try {
  const installed = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", INSTALL, "--prefix", dir],
    stdout: "null",
  }).output();
  if (!installed.success) throw new Error("kernel/install.ts failed");
  const stock = join(dir, "share", "jupyter", "kernels", "deno");
  await Deno.mkdir(stock, { recursive: true });
  await Deno.writeTextFile(
    join(stock, "kernel.json"),
    JSON.stringify({
      argv: [Deno.execPath(), "jupyter", "--kernel", "--conn", "{connection_file}"],
      display_name: "Deno",
      language: "typescript",
    }),
  );
  const env: Record<string, string> = {
    ...Deno.env.toObject(),
    JUPYTER_PATH: join(dir, "share", "jupyter"),
    JUPYTER_DATA_DIR: join(dir, "data"),
    JUPYTER_RUNTIME_DIR: join(dir, "runtime"),
    PYTHONWARNINGS: "ignore",
  };
  delete env.NO_COLOR; // as under a Jupyter server: stock colours its results, we strip them
  const measure = async (kernel: string) => {
    const r = await new Deno.Command("/usr/bin/python3", {
      args: ["-c", DRIVER, kernel, String(CELLS)],
      env,
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout).trim().split("\n").at(-1) ?? "";
    if (!r.success || !out) throw new Error(new TextDecoder().decode(r.stderr));
    return JSON.parse(out) as { median: number; p90: number };
  };
  const stock_ = await measure("deno");
  const ours = await measure("lamindeno");
  const f = (x: number) => `${x.toFixed(2)} ms`;
  console.log(`${CELLS} cells of \`1\`, latency from execute_request to execute_reply + idle:`);
  console.log(`  stock deno jupyter: median ${f(stock_.median)}, p90 ${f(stock_.p90)}`);
  console.log(`  lamindeno proxy:    median ${f(ours.median)}, p90 ${f(ours.p90)}`);
  const added = ours.median - stock_.median;
  console.log(
    `  added by the proxy: ${f(added)} per cell (target <= 5 ms)${added > 5 ? " MISSED" : ""}`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
