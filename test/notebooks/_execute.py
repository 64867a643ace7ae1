# Execute a notebook with nbclient (the notebook path is on this command
# line, which is how the kernel finds it), print each code cell's outputs.
import json, sys
import nbformat, nbclient

path, kernel = sys.argv[1], sys.argv[2]
# Jupyter picks free ports before the kernel binds them: a parallel process can
# take one meanwhile (AddrInUse). Such a start is retried; once a cell ran, never.
for attempt in range(3):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, kernel_name=kernel, allow_errors=True, timeout=120,
                                     resources={"metadata": {"path": path.rsplit("/", 1)[0] or "."}})
    try:
        client.execute()
        break
    except Exception:
        started = any(c.get("execution_count") or c.get("outputs") for c in nb.cells
                      if c.cell_type == "code")
        if started or attempt == 2:
            raise
        print(f"kernel did not start (attempt {attempt + 1}); retrying", file=sys.stderr)
out = []
for cell in nb.cells:
    if cell.cell_type != "code":
        continue
    outs = []
    for o in cell.outputs:
        if o.output_type == "error":
            outs.append({"error": o.ename, "value": o.evalue})
        elif o.output_type == "stream":
            outs.append({"stream": o.name, "text": o.text})
        else:
            data = o.get("data") or {}
            outs.append({"data": data.get("text/plain"), "html": data.get("text/html"),
                         "mimes": sorted(data), "type": o.output_type})
    out.append(outs)
print(json.dumps(out))
