// A bounded pool: `fn` over items, at most `limit` at once (folders of many
// objects up- and downloaded, files of a collection read).

/** Objects of a folder (a zarr store's chunks) moved at once: each costs a round trip or more. */
export const FOLDER_PARALLEL = 16;

/**
 * `fn` over `items`, at most `limit` at once, results in order. The first
 * failure stops new calls; it rejects once the calls already running have
 * settled (so a caller's cleanup sees everything they did).
 */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (e) {
        failed = true;
        throw e;
      }
    }
  };
  const lanes = Array.from({ length: Math.min(limit, items.length) }, lane);
  const settled = await Promise.allSettled(lanes);
  const err = settled.find((s) => s.status === "rejected");
  if (err) throw (err as PromiseRejectedResult).reason;
  return out;
}
