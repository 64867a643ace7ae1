/**
 * What the lamindeno kernel (kernel/) and the library inside it tell each
 * other, in one place: the names, the types, and validating readers. Both
 * sides import this module; neither reads the other's data untyped.
 *
 * - The kernel sets {@linkcode KERNEL_GLOBAL} in the notebook's isolate before
 *   the first cell ({@linkcode KernelGlobal}: session id, connection file, and
 *   the run it started itself, if any).
 * - The library announces the run it tracks with
 *   `Deno.jupyter.broadcast(RUN_MESSAGE, announcement)` ({@linkcode RunAnnouncement});
 *   the kernel records the notebook's cells into that run.
 * - The kernel's own support code inside the isolate answers its flush and
 *   interrupt signals with {@linkcode FLUSH_MESSAGE} and {@linkcode INTERRUPT_ACK_MESSAGE};
 *   on an interrupt it also sets {@linkcode INTERRUPT_GLOBAL} ({@linkcode InterruptMark}),
 *   which the library's writes check at their safe points (src/_interrupt.ts).
 *
 * Every message type starting with {@linkcode MESSAGE_PREFIX} is the kernel's
 * and never reaches the Jupyter client.
 *
 * @module
 */
import { ValidationError } from "../errors.ts";
import { stripPassword } from "../_redact.ts";
import type { RegistryLocation } from "../registry/run_cells.ts";

export type { RegistryLocation } from "../registry/run_cells.ts";

/** Name of the global the kernel sets in the notebook's isolate. */
export const KERNEL_GLOBAL = "__lamindeno_kernel";
/** Message types starting with this are the kernel's, not forwarded to the client. */
export const MESSAGE_PREFIX = "lamindeno_";
/** The library announces the run it tracks (content: {@linkcode RunAnnouncement}). */
export const RUN_MESSAGE = "lamindeno_run";
/** The isolate's answer to the proxy's flush signal (content: {@linkcode FlushAnswer}). */
export const FLUSH_MESSAGE = "lamindeno_flush";
/** The isolate's answer to the proxy's interrupt signal (content: {@linkcode InterruptAck}). */
export const INTERRUPT_ACK_MESSAGE = "lamindeno_interrupt_ack";

export { INTERRUPT_GLOBAL, type InterruptMark } from "../_interrupt.ts";

/** A run of the notebook, and the registry it lives in. */
export interface RunAnnouncement {
  /** The run's id. */
  run_id: string;
  /** The instance's storage root. */
  root: string;
  /** The registry (default: the libSQL file `{root}/.lamindb/lamin.db`). */
  registry?: RegistryLocation;
  /**
   * True while the run's notebook transform waits for a name (its path was
   * unknown): the kernel looks for the path again now and then and names it.
   */
  path_unknown?: boolean;
}

/** The value of `globalThis[KERNEL_GLOBAL]` in the notebook's isolate. */
export interface KernelGlobal {
  /** Random id of this kernel process's session. */
  sessionId: string;
  /** Absolute path of the connection file the Jupyter client gave the kernel. */
  connectionFile: string;
  /** The run the kernel started before the first cell (`LAMINDENO_STORAGE`). */
  early?: RunAnnouncement;
  /** The run the library announced last. */
  run?: RunAnnouncement;
}

/** Content of {@linkcode FLUSH_MESSAGE}: the cells whose outputs are all out. */
export interface FlushAnswer {
  /** msg_ids of the execute_requests flushed. */
  ids: string[];
}

/** Content of {@linkcode INTERRUPT_ACK_MESSAGE}: the isolate was idle and handled the interrupt. */
export interface InterruptAck {
  /** The interrupt's number, as the proxy wrote it. */
  id: number;
  /** How many pending promises were rejected. */
  rejected: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isText = (v: unknown): v is string => typeof v === "string" && v !== "";

function parseRegistry(v: unknown, what: string): RegistryLocation {
  if (isObj(v) && v.kind === "libsql" && isText(v.path)) return { kind: "libsql", path: v.path };
  if (isObj(v) && v.kind === "postgres" && isText(v.url)) return { kind: "postgres", url: v.url };
  throw new ValidationError(
    `${what}.registry must be { kind: "libsql", path } or { kind: "postgres", url }`,
  );
}

/**
 * `run` as the notebook's global may hold it: a PostgreSQL registry's URL
 * without its password (the kernel and the library find credentials in
 * `LAMINDENO_PGPASSFILE`, PGPASSWORD or `~/.pgpass`).
 *
 * @example
 * ```ts
 * import { withoutSecrets } from "./kernel_messages.ts";
 * const run = withoutSecrets({
 *   run_id: "r1",
 *   root: "/data",
 *   registry: { kind: "postgres", url: "postgresql://lamin:pw@db.org/lamin" },
 * });
 * console.assert(run.registry?.kind === "postgres" && !run.registry.url.includes("pw"));
 * ```
 */
export function withoutSecrets(run: RunAnnouncement): RunAnnouncement {
  if (run.registry?.kind !== "postgres") return run;
  return { ...run, registry: { kind: "postgres", url: stripPassword(run.registry.url) } };
}

/**
 * Validate a {@linkcode RunAnnouncement}; throws `ValidationError` saying what is wrong.
 *
 * @example
 * ```ts
 * import { parseRunAnnouncement } from "./kernel_messages.ts";
 * const run = parseRunAnnouncement({ run_id: "r1", root: "/data" });
 * console.assert(run.registry === undefined && run.path_unknown === undefined);
 * console.assert(parseRunAnnouncement({ run_id: "r1", root: "/d", path_unknown: true }).path_unknown);
 * ```
 */
export function parseRunAnnouncement(value: unknown, what: string = RUN_MESSAGE): RunAnnouncement {
  if (!isObj(value) || !isText(value.run_id) || !isText(value.root)) {
    throw new ValidationError(
      `${what} must be { run_id, root, registry? } with non-empty strings run_id and root`,
    );
  }
  const out: RunAnnouncement = { run_id: value.run_id, root: value.root };
  if (value.registry !== undefined) out.registry = parseRegistry(value.registry, what);
  if (value.path_unknown !== undefined) {
    if (typeof value.path_unknown !== "boolean") {
      throw new ValidationError(`${what}.path_unknown must be true or false`);
    }
    if (value.path_unknown) out.path_unknown = true;
  }
  return out;
}

/**
 * Validate a {@linkcode KernelGlobal}; throws `ValidationError` saying what is wrong.
 *
 * @example
 * ```ts
 * import { parseKernelGlobal } from "./kernel_messages.ts";
 * const k = parseKernelGlobal({ sessionId: "s", connectionFile: "/tmp/kernel-1.json" });
 * console.assert(k.early === undefined);
 * ```
 */
export function parseKernelGlobal(value: unknown): KernelGlobal {
  if (!isObj(value) || !isText(value.sessionId) || !isText(value.connectionFile)) {
    throw new ValidationError(
      `globalThis.${KERNEL_GLOBAL} must be { sessionId, connectionFile, early?, run? }`,
    );
  }
  const out: KernelGlobal = { sessionId: value.sessionId, connectionFile: value.connectionFile };
  if (value.early !== undefined) {
    out.early = parseRunAnnouncement(value.early, `${KERNEL_GLOBAL}.early`);
  }
  if (value.run !== undefined) out.run = parseRunAnnouncement(value.run, `${KERNEL_GLOBAL}.run`);
  return out;
}

/**
 * What the kernel set in this isolate; undefined outside the lamindeno
 * kernel, or when a custom preload set something else.
 *
 * @example
 * ```ts
 * import { kernelGlobal } from "./kernel_messages.ts";
 * console.assert(kernelGlobal() === undefined); // not in the kernel
 * ```
 */
export function kernelGlobal(): KernelGlobal | undefined {
  const value = (globalThis as Obj)[KERNEL_GLOBAL];
  if (value === undefined) return undefined;
  try {
    return parseKernelGlobal(value);
  } catch {
    return undefined;
  }
}

/**
 * Remember, in the kernel's global, the run the library announced (no-op outside the kernel).
 *
 * @example
 * ```ts
 * import { kernelGlobal, setKernelRun } from "./kernel_messages.ts";
 * setKernelRun({ run_id: "r1", root: "/data" }); // outside the kernel: nothing happens
 * console.assert(kernelGlobal() === undefined);
 * ```
 */
export function setKernelRun(run: RunAnnouncement): void {
  const value = (globalThis as Obj)[KERNEL_GLOBAL];
  if (isObj(value)) value.run = withoutSecrets(run);
}

/**
 * The code that sets {@linkcode KERNEL_GLOBAL} to `info` in the isolate (after
 * validating it), registry URLs without their passwords.
 *
 * @example
 * ```ts
 * import { kernelGlobalCode } from "./kernel_messages.ts";
 * const code = kernelGlobalCode({ sessionId: "s", connectionFile: "/tmp/kernel-1.json" });
 * console.assert(code.startsWith("globalThis.__lamindeno_kernel = "));
 * ```
 */
export function kernelGlobalCode(info: KernelGlobal): string {
  const value = parseKernelGlobal(info);
  // The notebook's global scope never holds a password.
  if (value.early) value.early = withoutSecrets(value.early);
  if (value.run) value.run = withoutSecrets(value.run);
  return `globalThis.${KERNEL_GLOBAL} = ${JSON.stringify(value)};`;
}

/**
 * The content of a {@linkcode FLUSH_MESSAGE}, or undefined when malformed.
 *
 * @example
 * ```ts
 * import { readFlushAnswer } from "./kernel_messages.ts";
 * console.assert(readFlushAnswer({ ids: ["a"] })?.ids[0] === "a");
 * console.assert(readFlushAnswer("nonsense") === undefined);
 * ```
 */
export function readFlushAnswer(content: unknown): FlushAnswer | undefined {
  if (!isObj(content) || !Array.isArray(content.ids)) return undefined;
  return { ids: content.ids.filter((x): x is string => typeof x === "string") };
}

/**
 * The content of an {@linkcode INTERRUPT_ACK_MESSAGE}, or undefined when malformed.
 *
 * @example
 * ```ts
 * import { readInterruptAck } from "./kernel_messages.ts";
 * console.assert(readInterruptAck({ id: 1, rejected: 2 })?.rejected === 2);
 * console.assert(readInterruptAck({ id: "1" }) === undefined);
 * ```
 */
export function readInterruptAck(content: unknown): InterruptAck | undefined {
  if (!isObj(content) || !Number.isInteger(content.id)) return undefined;
  const rejected = Number.isInteger(content.rejected) ? content.rejected as number : 0;
  return { id: content.id as number, rejected };
}
