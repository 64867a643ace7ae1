# Requests signed with the right key but malformed (not JSON, null or an
# array where an object belongs, a header without a msg_id) sent on the shell
# socket: the kernel drops each, and the next cell still gets its reply.
# Prints one JSON line: for each case, the status of the cell sent after it.
import hashlib
import hmac
import json
import queue
import sys

from _start import start

km, kc = start(kernel_name=sys.argv[1])


def signed(header, parent, metadata, content):
    frames = [header, parent, metadata, content]
    h = hmac.new(km.session.key, digestmod=hashlib.sha256)
    for f in frames:
        h.update(f)
    return [b"<IDS|MSG>", h.hexdigest().encode()] + frames


def header(**kw):
    h = {"msg_id": "", "msg_type": "execute_request", "session": "s", "username": "u",
         "date": "", "version": "5.3"}
    h.update(kw)
    return json.dumps(h).encode()


code = b'{"code": "globalThis.forged = 1", "silent": false}'
cases = {
    "header null": signed(b"null", b"{}", b"{}", code),
    "header array": signed(b"[]", b"{}", b"{}", code),
    "msg_id an object": signed(header(msg_id={"a": 1}), b"{}", b"{}", code),
    "parent null": signed(header(msg_id="p"), b"null", b"{}", code),
    "metadata null": signed(header(msg_id="m"), b"{}", b"null", code),
    "metadata not JSON": signed(header(msg_id="mj"), b"{}", b"{oops", code),
    "content null": signed(header(msg_id="c"), b"{}", b"{}", b"null"),
    "content not JSON": signed(header(msg_id="cj"), b"{}", b"{}", b"{oops"),
    "content not UTF-8": signed(header(msg_id="cu"), b"{}", b"{}", b'{"code": "\xff"}'),
}
out = {}
try:
    for name, frames in cases.items():
        kc.shell_channel.socket.send_multipart(frames)
        msg_id = kc.execute("typeof globalThis.forged")
        try:
            while True:
                reply = kc.get_shell_msg(timeout=10)
                if reply["parent_header"].get("msg_id") == msg_id:
                    break
            out[name] = reply["content"]["status"]
        except queue.Empty:
            out[name] = "no reply"
            break
finally:
    km.shutdown_kernel(now=True)
print(json.dumps(out))
