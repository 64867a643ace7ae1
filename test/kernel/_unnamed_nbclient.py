# Execute a notebook built in memory (its path is on no command line and in no
# environment variable) with nbclient in the lamindeno kernel, started in the
# folder argv[1]; argv[2] is the JSON list of cell sources. Prints each cell's
# outputs as JSON (streams, results, errors).
import json
import sys

import nbclient
import nbformat

cwd, sources = sys.argv[1], json.loads(sys.argv[2])
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
nbclient.NotebookClient(nb, kernel_name="lamindeno", allow_errors=True, timeout=120,
                        resources={"metadata": {"path": cwd}}).execute()
out = []
for cell in nb.cells:
    outs = []
    for o in cell.outputs:
        if o.output_type == "stream":
            outs.append({"stream": o.name, "text": o.text})
        elif o.output_type == "error":
            outs.append({"error": o.ename, "value": o.evalue})
        else:
            outs.append({"data": (o.get("data") or {}).get("text/plain")})
    out.append(outs)
print(json.dumps(out))
