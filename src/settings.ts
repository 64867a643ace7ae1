import { NotInitializedError } from "./errors.ts";
import { defaultCacheDir } from "./init.ts";
import { defaultInstance, maybeDefaultInstance } from "./registry/instance.ts";
import type { Storage } from "./registry/storage_record.ts";
import type { User } from "./registry/user.ts";

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

/**
 * Settings of the default instance (a view of its `instance.settings`, the
 * one place they live). `storage` and `user` throw `NotInitializedError`
 * before `ln.init()`, and so does setting `trackRunInputs`.
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
    return defaultInstance().storage;
  },
  /** The current user (from `LAMIN_USER` or the OS user). */
  get user(): User {
    return defaultInstance().user;
  },
  /** Link loaded/staged files as inputs of the tracked run (default `true`). */
  get trackRunInputs(): boolean {
    return maybeDefaultInstance()?.settings.trackRunInputs ?? true;
  },
  set trackRunInputs(v: boolean) {
    const inst = maybeDefaultInstance();
    if (!inst) {
      throw new NotInitializedError(
        "settings.trackRunInputs belongs to an instance; call ln.init() before setting it",
      );
    }
    inst.settings.trackRunInputs = Boolean(v);
  },
  /** Where cloud objects are cached: `$XDG_CACHE_HOME/lamindb` or `~/.cache/lamindb`. */
  get cacheDir(): string {
    return maybeDefaultInstance()?.settings.cacheDir ?? defaultCacheDir();
  },
};
