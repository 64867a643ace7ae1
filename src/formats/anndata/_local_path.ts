// The local path a reader (readH5ad, readH5mu, readZarr) is given, checked
// before it is opened: a missing path, or a folder where a file is read (and
// the other way round), said as such rather than as a damaged file.
import { NotFoundError, ValidationError } from "../../errors.ts";
import * as rt from "../../_runtime.ts";

/**
 * Check that `path` names an existing `kind` ("file": an .h5ad or .h5mu,
 * "folder": a .zarr store) for `reader`; a `NotFoundError` when nothing is
 * there, a `ValidationError` for the wrong kind or a path that is not a
 * non-empty string.
 */
export async function checkLocalPath(
  path: unknown,
  kind: "file" | "folder",
  reader: string,
): Promise<void> {
  if (typeof path !== "string" || path === "") {
    throw new ValidationError(`${reader}(path): path is a non-empty string, got ${show(path)}`);
  }
  let info: rt.FileInfo;
  try {
    info = await rt.stat(path);
  } catch (e) {
    const code = (e as { code?: string })?.code;
    if (code === "ENOENT" || code === "ENOTDIR" || (e as Error)?.name === "NotFound") {
      throw new NotFoundError(`${reader}: nothing at "${path}": check the path`);
    }
    return; // unreadable: the reader's own open says why
  }
  if (kind === "file" && info.isDirectory) {
    throw new ValidationError(
      `${reader}: "${path}" is a folder; it reads a file (a zarr store: readZarr)`,
    );
  }
  if (kind === "folder" && !info.isDirectory) {
    throw new ValidationError(
      `${reader}: "${path}" is a file; it reads a zarr store, a folder (an .h5ad file: readH5ad)`,
    );
  }
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : v === null ? "null" : typeof v;
}
