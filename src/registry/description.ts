import { installDisplay } from "../_display.ts";

/**
 * What `describe()` and `ln.view()` return: the same summary as `text` (a
 * tree for terminals) and as `html` (for notebooks). It shows itself: a
 * notebook cell ending in `await file.describe()` displays the HTML,
 * `console.log(await file.describe())` and REPLs print the text. Nothing
 * is printed by `describe()` itself, so each place shows it exactly once.
 *
 * @example Describe a file
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * const file = await new ln.File(new TextEncoder().encode("a"), { key: "a.txt" }).save();
 * const d = await file.describe();
 * console.assert(d.text.startsWith("File: a.txt") && d.html.includes("a.txt"));
 * console.log(d); // the text tree
 * await ln.close();
 * ```
 */
export class Description {
  /** The summary as text (a tree, for terminals). */
  readonly text: string;
  /** The summary as HTML (user strings escaped), for notebooks. */
  readonly html: string;

  /** @internal Made by `describe()` and `ln.view()`. */
  constructor(text: string, html: string) {
    this.text = text;
    this.html = html;
  }

  /** The text form. */
  toString(): string {
    return this.text;
  }
}

installDisplay(Description.prototype, (d) => d.text, (d) => d.html);
