// Where zarrita finds a node: its Location resolves paths as URLs (and
// decodes them), so a name with a trailing space lost it and `%`, `?`, `#`
// read as URL syntax ("score " -> "score", "x%20y" -> "x y"): names Python's
// zarr and anndata write and read. Each name is percent-encoded here, and
// zarrita's resolving (of metadata and chunk keys alike) decodes it back to
// the name itself.
import * as zarr from "zarrita";

/** zarrita's Location of the node at `path` (names joined by `/`) in `store`. */
export function locate<S extends zarr.Readable>(store: S, path: string): zarr.Location<S> {
  const names = path.split("/").filter((n) => n !== "");
  return new zarr.Location(store, `/${names.map(encodeURIComponent).join("/")}`);
}
