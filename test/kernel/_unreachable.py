# Announce a run whose registry cannot be opened (or refuses writes), then
# keep executing cells: every cell must still reply and print. Prints the
# replies as JSON. Arguments: cwd, storage root, and optionally the run id.
import json, sys
from _start import start

cwd, root = sys.argv[1], sys.argv[2]
run_id = sys.argv[3] if len(sys.argv) > 3 else "r1"
km, kc = start(kernel_name="lamindeno", cwd=cwd)
out = []
try:
    cells = [
        f'await Deno.jupyter.broadcast("lamindeno_run", {{ run_id: {json.dumps(run_id)}, root: {json.dumps(root)} }});',
        "console.log('one'); 1",
        "throw new Error('boom')",
        "console.log('two'); 2",
    ]
    for code in cells:
        reply = kc.execute_interactive(code, timeout=60, output_hook=lambda m: None)
        out.append(reply["content"]["status"])
    # One more, reading its stream output, to show output still flows.
    seen = []
    kc.execute_interactive("console.log('three')", timeout=60,
                           output_hook=lambda m: seen.append(m["content"].get("text", "")))
    out.append("".join(seen).strip())
finally:
    km.shutdown_kernel(now=False)
    kc.stop_channels()
print(json.dumps(out))
del kc, km
