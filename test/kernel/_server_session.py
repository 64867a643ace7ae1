# A Jupyter server (jupyter_server) with notebook sessions in the lamindeno
# kernel, driven through its REST API and kernel websocket, as JupyterLab does.
# argv[1]: the server's root dir; argv[2]: JSON list of sessions, each
# {"path", "cells", "save": optional notebook JSON written through the
# contents API after the cells ran}. Each session's cells are executed, then
# the session is deleted (the kernel shuts down). Prints, per session, the
# replies' statuses as JSON.
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid

import websocket

root, sessions = sys.argv[1], json.loads(sys.argv[2])
TOKEN = uuid.uuid4().hex
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
base = f"http://127.0.0.1:{port}"
server = subprocess.Popen(
    [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
     f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--ServerApp.token={TOKEN}",
     f"--ServerApp.root_dir={root}"],
    stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "..", "server.log"), "w"))


def api(method, path, body=None):
    req = urllib.request.Request(
        f"{base}{path}", method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        text = r.read()
        return json.loads(text) if text else None


def execute(ws, code):
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({
        "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3"},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": False},
    }))
    while True:
        msg = json.loads(ws.recv())
        if msg.get("msg_type") == "execute_reply" and msg["parent_header"].get("msg_id") == msg_id:
            return msg["content"]["status"]


out = []
try:
    for _ in range(300):
        try:
            api("GET", "/api/status")
            break
        except Exception:
            if server.poll() is not None:
                raise SystemExit("the Jupyter server exited")
            time.sleep(0.1)
    for spec in sessions:
        s = api("POST", "/api/sessions", {"path": spec["path"], "type": "notebook",
                                          "name": os.path.basename(spec["path"]),
                                          "kernel": {"name": "lamindeno"}})
        ws = websocket.create_connection(
            f"ws://127.0.0.1:{port}/api/kernels/{s['kernel']['id']}/channels?token={TOKEN}",
            timeout=120)
        out.append([execute(ws, code) for code in spec["cells"]])
        if "save" in spec:
            api("PUT", f"/api/contents/{spec['path']}",
                {"type": "notebook", "format": "json", "content": spec["save"]})
        ws.close()
        api("DELETE", f"/api/sessions/{s['id']}")
        for _ in range(200):  # until the kernel is gone
            if not any(k["id"] == s["kernel"]["id"] for k in api("GET", "/api/kernels")):
                break
            time.sleep(0.05)
finally:
    server.terminate()
    server.wait(timeout=30)
print(json.dumps(out))
