import { showValue } from "./_display.ts";
import { NotInitializedError, ValidationError } from "./errors.ts";
import { setVerbosity, VERBOSITIES, type Verbosity, verbosity } from "./_log.ts";
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
  /**
   * What is logged, least to most: `"error"`, `"warning"`, `"success"`,
   * `"info"` (default), `"debug"`. Until set, the environment variable
   * `LAMIN_LOG_LEVEL` decides. Progress bars show at `"success"` and above.
   * Process-wide: it works before `ln.init()`.
   */
  verbosity: Verbosity;
}

/** The default instance; `NotInitializedError` before `ln.init()` (or after `ln.close()`). */
function instanceOf(doing: "reading" | "setting") {
  const inst = maybeDefaultInstance();
  if (!inst) {
    throw new NotInitializedError(
      `settings.trackRunInputs belongs to an instance; call ln.init() before ${doing} it`,
    );
  }
  return inst;
}

/**
 * Settings of the default instance (a view of its `instance.settings`, the
 * one place they live). `storage`, `user` and `trackRunInputs` (read or
 * set) throw `NotInitializedError` before `ln.init()`; `cacheDir` and
 * `verbosity` work before it. `trackRunInputs` takes `true` or `false`
 * (anything else is a `ValidationError`).
 *
 * @example Read the settings
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 * await ln.init({ storage: await Deno.makeTempDir() });
 * console.assert(ln.settings.trackRunInputs === true);
 * console.assert(ln.settings.cacheDir.endsWith("lamindb"));
 * ln.settings.verbosity = "warning"; // only warnings and errors from now on
 * console.assert(ln.settings.verbosity === "warning");
 * ln.settings.verbosity = "info";
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
    return instanceOf("reading").settings.trackRunInputs;
  },
  set trackRunInputs(v: boolean) {
    if (typeof v !== "boolean") {
      throw new ValidationError(`settings.trackRunInputs takes true or false, got ${showValue(v)}`);
    }
    instanceOf("setting").settings.trackRunInputs = v;
  },
  /** Where cloud objects are cached: `$XDG_CACHE_HOME/lamindb` or `~/.cache/lamindb`. */
  get cacheDir(): string {
    return maybeDefaultInstance()?.settings.cacheDir ?? defaultCacheDir();
  },
  /** What is logged: `"error"` < `"warning"` < `"success"` < `"info"` < `"debug"`. */
  get verbosity(): Verbosity {
    return verbosity();
  },
  set verbosity(v: Verbosity) {
    if (!VERBOSITIES.includes(v)) {
      throw new ValidationError(
        `settings.verbosity takes ${VERBOSITIES.map((l) => `"${l}"`).join(", ")}; got ${
          showValue(v)
        }`,
      );
    }
    setVerbosity(v);
  },
};
