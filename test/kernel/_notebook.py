# Build a notebook from the JSON list of cell sources in argv[2], execute it
# with nbclient in kernel argv[1] (errors allowed), print cell ids and outputs.
import json
import sys

import nbclient
import nbformat
from jupyter_client.session import Session

# Send each cell's id as metadata.cellId, as JupyterLab and jupyter_client >= 8 do.
current_cell = []
_msg = Session.msg


def msg_with_cell_id(self, msg_type, *args, **kwargs):
    m = _msg(self, msg_type, *args, **kwargs)
    if msg_type == "execute_request" and current_cell:
        m["metadata"]["cellId"] = current_cell[-1]
    return m


class Client(nbclient.NotebookClient):
    async def async_execute_cell(self, cell, *args, **kwargs):
        current_cell.append(cell.id)
        return await super().async_execute_cell(cell, *args, **kwargs)


Session.msg = msg_with_cell_id
kernel, sources = sys.argv[1], json.loads(sys.argv[2])
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
Client(nb, kernel_name=kernel, allow_errors=True, timeout=60).execute()
cells = []
for cell in nb.cells:
    outs = []
    for o in cell.outputs:
        if o.output_type == "stream":
            outs.append({"stream": o.name, "text": o.text})
        elif o.output_type == "error":
            outs.append({"error": o.ename, "value": o.evalue})
        else:
            outs.append({o.output_type: o.data.get("text/plain")})
    cells.append({"id": cell.id, "count": cell.execution_count, "outputs": outs})
print(json.dumps(cells))
