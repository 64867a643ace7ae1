import { homedir } from "node:os";
import { join } from "node:path";
import { instance, maybeInstance } from "./_state.ts";
import type { Storage } from "./registry/storage_record.ts";
import type { User } from "./registry/user.ts";

let trackRunInputs = true;

function defaultCacheDir(): string {
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  return join(xdg && xdg !== "" ? xdg : join(homedir(), ".cache"), "lamindb");
}

/** The shape of {@linkcode settings}. */
export interface Settings {
  /** The default storage root of the open instance. */
  readonly storage: Storage;
  /** The current user (from `LAMIN_USER` or the OS user). */
  readonly user: User;
  /** Link loaded/staged files as inputs of the tracked run (default `true`). */
  trackRunInputs: boolean;
  /** Where cloud objects are cached: `$XDG_CACHE_HOME/lamindb` or `~/.cache/lamindb`. */
  readonly cacheDir: string;
}

/** @internal Defaults applied to a newly opened instance. */
export function settingsDefaults(): { trackRunInputs: boolean; cacheDir: string } {
  return { trackRunInputs, cacheDir: defaultCacheDir() };
}

/**
 * Settings of the open instance. `storage` and `user` throw
 * `NotInitializedError` before `ln.init()`.
 *
 * @example Read the settings
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * console.assert(ln.settings.trackRunInputs === true);
 * console.assert(ln.settings.cacheDir.endsWith("lamindb"));
 * await ln.close();
 * ```
 */
export const settings: Settings = {
  /** The default storage root of the open instance. */
  get storage(): Storage {
    return instance().storage;
  },
  /** The current user (from `LAMIN_USER` or the OS user). */
  get user(): User {
    return instance().user;
  },
  /** Link loaded/staged files as inputs of the tracked run (default `true`). */
  get trackRunInputs(): boolean {
    return maybeInstance()?.trackRunInputs ?? trackRunInputs;
  },
  set trackRunInputs(v: boolean) {
    trackRunInputs = Boolean(v);
    const inst = maybeInstance();
    if (inst) inst.trackRunInputs = trackRunInputs;
  },
  /** Where cloud objects are cached: `$XDG_CACHE_HOME/lamindb` or `~/.cache/lamindb`. */
  get cacheDir(): string {
    return maybeInstance()?.cacheDir ?? defaultCacheDir();
  },
};
