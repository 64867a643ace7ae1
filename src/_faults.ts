// Named crash points for the fault-injection tests: with the environment
// variable LAMINDENO_CRASH_AT set to a point's name, the process kills
// itself (SIGKILL: no cleanup, no finally) when it reaches that point, so
// tests can stop a save, replace or delete at each step and check that
// `fsck({ repair: true })` leaves a consistent instance. Without the variable
// (or without permission to read it) a crash point does nothing.

/** The crash points, in the order each operation reaches them. */
export const CRASH_POINTS = [
  "save:after-journal",
  "put:after-temp",
  "save:after-put",
  "save:in-commit",
  "save:after-commit",
  "replace:after-claim",
  "replace:after-put",
  "replace:in-commit",
  "replace:after-commit",
  "delete:in-commit",
  "delete:after-commit",
  "version:after-claim",
  "version:after-copy",
  "version:after-move",
] as const;

/** A named step of a write. */
export type CrashPoint = typeof CRASH_POINTS[number];

const target: string | undefined = (() => {
  try {
    const q = Deno.permissions.querySync({ name: "env", variable: "LAMINDENO_CRASH_AT" });
    return q.state === "granted" ? Deno.env.get("LAMINDENO_CRASH_AT") : undefined;
  } catch {
    return undefined;
  }
})();

/** Kill this process here if the tests asked for it. */
export function crashPoint(name: CrashPoint): void {
  if (target === name) Deno.kill(Deno.pid, "SIGKILL");
}
