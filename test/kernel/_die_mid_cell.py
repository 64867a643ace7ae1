# Start the lamindeno kernel in a project folder, track a run, run two cells,
# start a long cell, then kill the kernel mid-cell (SIGKILL to the inner
# `deno jupyter`, as the OOM killer would); the proxy must exit with it.
import glob, os, signal, sys, time
from _start import start

cwd, root, mod = sys.argv[1], sys.argv[2], sys.argv[3]
km, kc = start(kernel_name="lamindeno", cwd=cwd)
def run(code, wait=True):
    msg_id = kc.execute(code)
    if wait:
        reply = kc.get_shell_msg(timeout=60)
        assert reply["content"]["status"] in ("ok", "error"), reply["content"]
    return msg_id
run(f'import * as ln from "{mod}";\nawait ln.init({{ storage: "{root}" }});\nawait ln.track({{ name: "dies" }});')
run("1 + 1;")
run("throw new TypeError('still serving after this');")
run("await new Promise((r) => setTimeout(r, 60_000));", wait=False)
time.sleep(2)
proxy = km.provisioner.process.pid
inner = []
for f in glob.glob(f"/proc/{proxy}/task/*/children"):
    inner += [int(p) for p in open(f).read().split()]
assert inner, "the proxy has a child kernel"
for pid in inner:
    os.kill(pid, signal.SIGKILL)
for _ in range(100):
    if not km.is_alive():
        break
    time.sleep(0.1)
assert not km.is_alive(), "the proxy exits when its kernel dies"
kc.stop_channels()
km.cleanup_resources()
print("killed")
del kc, km
