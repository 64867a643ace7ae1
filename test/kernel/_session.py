# A kernel session through jupyter_client: cells sent ahead, forged requests,
# stdin (prompt), heartbeat, restart and shutdown; the inner kernel process
# and its temp dir must be gone after.
# Prints one JSON line.
import json
import os
import sys
import time

from _start import start
from jupyter_client.session import Session

km, kc = start(kernel_name=sys.argv[1])
out = {}


def inner():
    """The inner kernel: pid and the dir of its connection file."""
    pid = km.provisioner.process.pid
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        child = int(f.read().split()[0])
    with open(f"/proc/{child}/cmdline") as f:
        args = f.read().split("\0")
    return child, os.path.dirname(args[args.index("--conn") + 1])


def gone(pid, directory):
    for _ in range(100):
        try:
            with open(f"/proc/{pid}/stat") as f:
                alive = f.read().split(") ")[1][0] != "Z"
        except FileNotFoundError:
            alive = False
        if not alive and not os.path.exists(directory):
            return True
        time.sleep(0.05)
    return False


# Cells sent all at once (as "run all" does): each cell's outputs, then its idle.
codes = [
    'await new Promise((r) => setTimeout(r, 20));\nconsole.log("a");\n1',
    "for (let i = 0; i < 20; i++) console.log(i);\n2",
    '"three"',
]
ids = [kc.execute(code) for code in codes]
events = []
while len([e for e in events if e[1] == "idle"]) < len(ids):
    msg = kc.get_iopub_msg(timeout=30)
    cell = ids.index(msg["parent_header"]["msg_id"]) if msg["parent_header"].get("msg_id") in ids else -1
    if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
        events.append([cell, "idle"])
    elif msg["msg_type"] in ("stream", "execute_result"):
        text = msg["content"].get("text") or msg["content"]["data"]["text/plain"]
        events.append([cell, msg["msg_type"], text])
# Their replies (each cell must get one); a reply to an earlier request (the
# client's kernel_info at start) may come first and is not one of them: taking
# three replies blindly left a cell's reply to be read as the next request's.
replied = set()
while not replied >= set(ids):
    replied.add(kc.get_shell_msg(timeout=30)["parent_header"].get("msg_id"))
out["pipelined"] = events

# A request signed with the wrong key is dropped.
forged = Session(key=b"not the key")
forged.send(kc.shell_channel.socket, "execute_request", {"code": "globalThis.forged = 1", "silent": False})
msg_id = kc.execute("typeof globalThis.forged")
reply = kc.get_shell_msg(timeout=30)
out["forged_dropped"] = reply["parent_header"]["msg_id"] == msg_id
while True:
    msg = kc.get_iopub_msg(timeout=10)
    if msg["msg_type"] == "execute_result":
        out["forged_dropped"] &= msg["content"]["data"]["text/plain"] == '"undefined"'
        break

msg_id = kc.execute('const name = prompt("name?");\n`hi ${name}`', allow_stdin=True)
request = kc.get_stdin_msg(timeout=30)
out["input_request"] = request["content"]["prompt"]
kc.input("bob")
# Any shell message for another request is a stray (named in the output, so a
# failure says what it was) rather than an assertion that ends the session early.
out["stray_shell"] = []
while True:
    shell = kc.get_shell_msg(timeout=30)
    if shell["parent_header"].get("msg_id") == msg_id:
        break
    out["stray_shell"].append([shell["msg_type"], shell["parent_header"].get("msg_type")])
while True:
    msg = kc.get_iopub_msg(timeout=10)
    if msg["msg_type"] == "execute_result":
        out["result"] = msg["content"]["data"]["text/plain"]
        break
time.sleep(0.1)
out["heartbeat"] = kc.hb_channel.is_beating()

first = inner()
km.restart_kernel(now=False)
kc.wait_for_ready(timeout=60)
out["restart_cleaned_up"] = gone(*first)
kc.execute("typeof name")
out["after_restart"] = kc.get_shell_msg(timeout=30)["content"]["status"]

second = inner()
km.shutdown_kernel()
out["shutdown_cleaned_up"] = not km.is_alive() and gone(*second)
print(json.dumps(out))
