// Named crash points for the fault-injection tests: with the environment
// variable LAMINDENO_CRASH_AT set to a point's name, the process kills
// itself (SIGKILL: no cleanup, no finally) when it reaches that point, so
// tests can stop a save, replace or delete at each step and check that
// `fsck({ repair: true })` leaves a consistent instance. Without the variable
// (or without permission to read it) a crash point does nothing.
import process from "node:process";

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
  "replace:mid-copy",
  "delete:in-commit",
  "delete:after-commit",
  "version:after-claim",
  "version:after-copy",
  "version:after-move",
  "migrate:mid",
] as const;

/** A named step of a write. */
export type CrashPoint = typeof CRASH_POINTS[number];

// Deno would prompt (in a terminal) for an env permission it was not given,
// so it is asked first; Node and Bun have no permissions. (A leaf cannot use
// src/_runtime.ts, hence this one look at the Deno global outside it.)
const target: string | undefined = (() => {
  const name = "LAMINDENO_CRASH_AT";
  try {
    const deno = (globalThis as { Deno?: DenoPermissions }).Deno;
    if (deno && deno.permissions.querySync({ name: "env", variable: name }).state !== "granted") {
      return undefined;
    }
    return process.env[name];
  } catch {
    return undefined;
  }
})();

interface DenoPermissions {
  permissions: { querySync(d: { name: "env"; variable: string }): { state: string } };
}

/** Kill this process here if the tests asked for it. */
export function crashPoint(name: CrashPoint): void {
  if (target === name) process.kill(process.pid, "SIGKILL");
}
