# Run the given cells (a JSON list) in the lamindeno kernel; print their statuses as JSON.
import json, sys
from jupyter_client.manager import start_new_kernel

cwd, cells = sys.argv[1], json.loads(sys.argv[2])
km, kc = start_new_kernel(kernel_name="lamindeno", cwd=cwd)
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
