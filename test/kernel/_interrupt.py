# Interrupt cells through jupyter_client's KernelManager.interrupt_kernel()
# and check that the kernel keeps serving. Prints one JSON line.
# With "await-only" as second argument: only interrupt an awaiting cell and
# wait 4 s for its reply ("no reply" when it does not end), then kill the kernel.
# With "save" CWD ROOT MOD: interrupt a cell saving 256 MB into a new instance
# at ROOT (MOD: the library's mod.ts URL), then run ln.fsck() and list the files.
import json
import queue
import sys
import time

from _start import start

save_mode = sys.argv[2:3] == ["save"]
km, kc = start(kernel_name=sys.argv[1], **({"cwd": sys.argv[3]} if save_mode else {}))


def execute(code, interrupt_after=None, timeout=30):
    msg_id = kc.execute(code)
    if interrupt_after is not None:
        while True:  # wait until the cell runs
            msg = kc.get_iopub_msg(timeout=30)
            if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "execute_input":
                break
        time.sleep(interrupt_after)
        km.interrupt_kernel()
    t0 = time.monotonic()
    while True:  # skip replies to earlier requests (e.g. a late kernel_info_reply)
        left = timeout - (time.monotonic() - t0)
        try:
            reply = kc.get_shell_msg(timeout=max(left, 0.01))
        except queue.Empty:
            return {"status": "no reply", "ename": None, "seconds": timeout}
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    took = time.monotonic() - t0
    c = reply["content"]
    out = {"status": c["status"], "ename": c.get("ename"), "seconds": round(took, 3)}
    # The cell's error and text/plain results (until its idle).
    out["errors"], out["results"] = [], []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=10)
        except queue.Empty:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        t, content = msg["msg_type"], msg["content"]
        if t == "status" and content["execution_state"] == "idle":
            break
        if t == "error":
            out["errors"].append(content["ename"])
        if t == "execute_result":
            out["results"].append(content["data"].get("text/plain"))
    return out


try:
    if save_mode:
        root, mod = sys.argv[4], sys.argv[5]
        result = {
            "init": execute(
                f'import * as ln from "{mod}";\nawait ln.init({{ storage: "{root}" }});\n'
                + "globalThis.big = new Uint8Array(256 << 20).map((_, i) => i % 251); 1"
            ),
            # Hashing then copying takes ~1.5 s or more: interrupted in either.
            "save": execute('await new ln.File(big, { key: "big.bin" }).save()', 0.8),
            "fsck": execute("JSON.stringify(await ln.fsck())"),
            "files": execute("(await ln.File.filter({})).length"),
        }
    elif sys.argv[2:] == ["await-only"]:
        result = {
            "await": execute("await new Promise((r) => setTimeout(r, 60000))", 0.3, timeout=4)
        }
    else:
        result = {
            "await": execute("await new Promise((r) => setTimeout(r, 60000))", 0.3),
            "after_await": execute("1 + 1"),
            "loop": execute("for (;;) {}", 0.3),
            "after_loop": execute("2 + 2"),
        }
finally:
    # Always stop the kernel: one left running keeps this process's output
    # pipes open and the test waiting for them.
    km.shutdown_kernel(now=True)
print(json.dumps(result))
