// The leveled logger, lamindb's verbosity levels: error < warning < success
// < info < debug. The level is `ln.settings.verbosity` once set, else the
// environment variable LAMIN_LOG_LEVEL (read at each message), else "info".
// Messages go to stderr; in a Jupyter kernel info and success go to stdout
// (plain output cells) while warnings and errors stay on stderr, so the
// notebook still shows them as such.

/** A verbosity level: `"error"` < `"warning"` < `"success"` < `"info"` < `"debug"`. */
export type Verbosity = "error" | "warning" | "success" | "info" | "debug";
/** The verbosity levels, least verbose first. */
export const VERBOSITIES: readonly Verbosity[] = ["error", "warning", "success", "info", "debug"];

/** Older spellings LAMIN_LOG_LEVEL still takes. */
const ALIASES: Record<string, number> = { warn: 1, silent: -1 };

let chosen: Verbosity | undefined;

/** Set the level (`undefined`: back to LAMIN_LOG_LEVEL). Callers validate. */
export function setVerbosity(level: Verbosity | undefined): void {
  chosen = level;
}

function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** The level as a rank: an index into VERBOSITIES (-1: nothing at all). */
function rank(): number {
  if (chosen) return VERBOSITIES.indexOf(chosen);
  const v = env("LAMIN_LOG_LEVEL")?.trim().toLowerCase();
  if (!v) return 3;
  const i = VERBOSITIES.indexOf(v as Verbosity);
  return i >= 0 ? i : ALIASES[v] ?? 3;
}

/** The level in effect (a LAMIN_LOG_LEVEL of "silent" reads as "error"). */
export function verbosity(): Verbosity {
  return VERBOSITIES[Math.max(rank(), 0)];
}

/** True when messages of `level` are shown. */
export function shows(level: Verbosity): boolean {
  return VERBOSITIES.indexOf(level) <= rank();
}

let kernel: boolean | undefined;

/** True inside a Deno Jupyter kernel (touching `Deno.jupyter` elsewhere throws). */
export function inJupyter(): boolean {
  if (kernel === undefined) {
    try {
      // deno-lint-ignore no-explicit-any
      kernel = typeof (Deno as any).jupyter === "object";
    } catch {
      kernel = false;
    }
  }
  return kernel;
}

const NAMES: Record<Verbosity, string> = {
  error: "error",
  warning: "warn",
  success: "success",
  info: "info",
  debug: "debug",
};

function emit(level: Verbosity, message: string): void {
  if (!shows(level)) return;
  const line = `lamindeno ${NAMES[level]}: ${message}`;
  if (inJupyter() && (level === "info" || level === "success")) console.log(line);
  else console.error(line);
}

/** Log at a level; see the module comment for where each goes. */
export const log = {
  debug: (m: string) => emit("debug", m),
  info: (m: string) => emit("info", m),
  success: (m: string) => emit("success", m),
  warn: (m: string) => emit("warning", m),
  error: (m: string) => emit("error", m),
};
