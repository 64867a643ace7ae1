// One case of a registry contract (contract.ts, contract_versions.ts, ...): a
// fresh instance opened by `open` in a temporary folder, closed and removed
// after the case, whatever it did.
import * as ln from "../../mod.ts";
import { tempDir } from "../_helpers.ts";

/** A function registering contract cases named `{name}: {what}`. */
export function contractCase(
  name: string,
  open: (storage: string) => Promise<void>,
  options: { ignore?: boolean } = {},
): (what: string, fn: (root: string) => Promise<void>) => void {
  return (what, fn) =>
    Deno.test({
      name: `${name}: ${what}`,
      ignore: options.ignore ?? false,
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const root = await tempDir();
        await open(root);
        try {
          await fn(root);
        } finally {
          await ln.close();
          await Deno.remove(root, { recursive: true });
        }
      },
    });
}
