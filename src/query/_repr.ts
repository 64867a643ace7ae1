// How the query objects show themselves: a BackedAnnData as anndata's
// summary of a backed object, expressions as their query text, a
// LazyDataFrame by its columns; notebooks get the same as HTML.
import { escapeHtml, installDisplay, showBytes } from "../_display.ts";
import type { BackedAnnData, BackedMatrix } from "./backed.ts";
import type { Expression } from "./expr.ts";

/** `AnnData object with n_obs × n_vars = 3 × 2 (backed)`, its layers, and the bytes read so far. */
export function backedText(b: BackedAnnData): string {
  const layers = Object.keys(b.layers);
  return [
    `AnnData object with n_obs × n_vars = ${b.nObs} × ${b.nVars} (backed${b.X ? "" : ", no X"})`,
    ...(layers.length ? [`    layers: ${layers.map((l) => `'${l}'`).join(", ")}`] : []),
    `    read so far: ${showBytes(b.io.bytesRead)} in ${b.io.requests} requests`,
  ].join("\n");
}

/** `BackedMatrix(3 × 2)`. */
export function backedMatrixText(m: BackedMatrix): string {
  return `BackedMatrix(${m.shape[0]} × ${m.shape[1]}, read on demand)`;
}

/** An object's text as a `<pre>` (escaped). */
function pre<T>(text: (x: T) => string): (x: T) => string {
  return (x) => `<pre>${escapeHtml(text(x))}</pre>`;
}

/** Give an expression class its text form: `Expression (n_genes > 200)`. */
export function showExpressions(cls: { prototype: Expression }): void {
  installDisplay(
    cls.prototype,
    (e) => `${e.constructor.name} ${e.toString()}`,
    (e) => `<code>${escapeHtml(e.toString())}</code>`,
  );
}

/** Give the backed classes their text forms. */
export function showBacked(
  backed: { prototype: BackedAnnData },
  matrix: { prototype: BackedMatrix },
): void {
  installDisplay(backed.prototype, backedText, pre(backedText));
  installDisplay(matrix.prototype, backedMatrixText, pre(backedMatrixText));
}

/** Give a frame class its text form (its `toString()`). */
export function showFrame(proto: object): void {
  installDisplay(proto, (f) => String(f), pre((f) => String(f)));
}
