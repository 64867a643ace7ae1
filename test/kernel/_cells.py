# Run the given cells (a JSON list) in the lamindeno kernel; print their statuses as JSON.
import json, sys
from _start import start

cwd, cells = sys.argv[1], json.loads(sys.argv[2])
km, kc = start(kernel_name="lamindeno", cwd=cwd)
out = []
try:
    for code in cells:
        reply = kc.execute_interactive(code, timeout=120, output_hook=lambda m: None)
        out.append(reply["content"]["status"])
finally:
    km.shutdown_kernel(now=False)
    kc.stop_channels()
print(json.dumps(out))
del kc, km
