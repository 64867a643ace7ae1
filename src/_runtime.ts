// The one place that talks to the JavaScript runtime: environment, process,
// files. Everything here is built on node: built-ins, which Deno, Node (>= 20)
// and Bun all provide, so the library runs unchanged in the three; the few
// things only Deno has (the Jupyter bridge, the main module, web error
// events) are looked up on `globalThis` and have a fallback. File locks
// between processes: src/_runtime_lock.ts.
// A leaf: imports node: built-ins only.
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import process from "node:process";
import { pathToFileURL } from "node:url";

export type { FileHandle };

// ---------------------------------------------------------------- process

/** An environment variable; `undefined` when unset (throws where env access is not permitted). */
export function env(name: string): string | undefined {
  return process.env[name];
}

/** This process's id. */
export function pid(): number {
  return process.pid;
}

/** The working directory. */
export function cwd(): string {
  return process.cwd();
}

/** `"linux"`, `"darwin"`, `"win32"`, ... */
export function platform(): string {
  return process.platform;
}

/** Write to standard error at once (no buffering: progress lines, prompts). */
export function writeStderrSync(text: string): void {
  fs.writeSync(2, text);
}

/** Whether standard output or error is a terminal. */
export function isTerminal(stream: "stdout" | "stderr"): boolean {
  try {
    return Boolean(process[stream].isTTY);
  } catch {
    return false;
  }
}

/**
 * The file URL of the script being run (`deno run x.ts`, `node x.mjs`,
 * `bun x.ts`); `undefined` in a REPL or eval.
 */
export function mainModule(): string | undefined {
  const deno = denoGlobal();
  if (deno) return deno.mainModule;
  const script = process.argv[1];
  return script ? pathToFileURL(resolve(script)).href : undefined;
}

/** What to do with an error nothing caught: a rejected promise, or a throw in a callback. */
export interface UncaughtHandlers {
  rejection(reason: unknown): void;
  error(error: unknown): void;
}

/**
 * Call `handlers` instead of the runtime's report-and-exit for an uncaught
 * error, until the returned function is called. To end the process as
 * without them, stop watching and raise it again (`Promise.reject(reason)`,
 * `setTimeout(() => { throw error })`). Under Deno the web events
 * `unhandledrejection` / `error` (one already handled elsewhere, with
 * `preventDefault()`, is left alone); under Node and Bun, `process` events.
 */
export function watchUncaught(handlers: UncaughtHandlers): () => void {
  if (denoGlobal()) {
    const onRejection = (event: PromiseRejectionEvent): void => {
      if (event.defaultPrevented) return; // someone else handles it
      event.preventDefault();
      handlers.rejection(event.reason);
    };
    const onError = (event: ErrorEvent): void => {
      if (event.defaultPrevented) return;
      event.preventDefault();
      handlers.error(event.error);
    };
    globalThis.addEventListener("unhandledrejection", onRejection);
    globalThis.addEventListener("error", onError);
    return () => {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
    };
  }
  const onRejection = (reason: unknown): void => handlers.rejection(reason);
  const onError = (error: unknown): void => handlers.error(error);
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onError);
  return () => {
    process.off("unhandledRejection", onRejection);
    process.off("uncaughtException", onError);
  };
}

/** Deno's Jupyter bridge (`Deno.jupyter`) when running in a Deno kernel, else `undefined`. */
export function jupyterBridge(): JupyterBridge | undefined {
  try {
    // Outside `deno jupyter`, touching Deno.jupyter throws.
    const j = denoGlobal()?.jupyter;
    return typeof j === "object" && j !== null ? j : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- memory

/** Huge pages are 2 MiB on x86-64 and most arm64 Linux systems. */
const HUGE = 2n << 20n;
const MADV_HUGEPAGE = 14;
let hugeState: { on: boolean; why: string } | undefined;

/**
 * Whether {@linkcode adviseHugePages} is on here, and why not: only when
 * asked (`LAMIN_HUGE_PAGES=1`), in Deno on Linux with the ffi permission
 * already granted (it is queried, never asked for) and transparent huge
 * pages not turned off. Off by default: on a VM that hands freed memory
 * back to its host (free page reporting), a fresh huge page costs far more
 * than its 512 small ones (whole loads measured 1.5-2.5x slower with the
 * advice on a 2-core VM, with no compaction stalls: bench/README.md ninth
 * session), although loads that reuse warm memory take less CPU on them.
 */
export function hugePages(): { on: boolean; why: string } {
  return hugeState ??= probeHugePages();
}

function probeHugePages(): { on: boolean; why: string } {
  const deno = denoGlobal();
  if (!deno?.dlopen || !deno.UnsafePointer || !deno.permissions?.querySync) {
    return { on: false, why: "not Deno (no FFI)" };
  }
  if (deno.build?.os !== "linux") return { on: false, why: "not Linux" };
  let asked: string | undefined;
  try {
    asked = env("LAMIN_HUGE_PAGES");
  } catch {
    asked = undefined; // no env permission: the default
  }
  if (asked !== "1") {
    return { on: false, why: `LAMIN_HUGE_PAGES=${asked ?? ""} (1 turns huge pages on)` };
  }
  try {
    if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return { on: false, why: "no ffi permission (--allow-ffi)" };
    }
  } catch {
    return { on: false, why: "the ffi permission cannot be queried" };
  }
  // The kernel's setting, when it may be read without asking.
  const sys = "/sys/kernel/mm/transparent_hugepage/enabled";
  let mode = "unknown";
  try {
    if (deno.permissions.querySync({ name: "read", path: sys }).state === "granted") {
      mode = fs.readFileSync(sys, "utf8").trim();
    }
  } catch {
    return { on: false, why: "no transparent huge pages in this kernel" };
  }
  if (/\[never\]/.test(mode)) return { on: false, why: "transparent huge pages are off (never)" };
  try {
    deno.dlopen("libc.so.6", MADVISE).close();
  } catch {
    return { on: false, why: "libc.so.6 cannot be opened" };
  }
  return { on: true, why: `transparent huge pages: ${mode}` };
}

const MADVISE = {
  madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
} as { madvise: { parameters: ["pointer", "usize", "i32"]; result: "i32" } };

/**
 * Ask the kernel to back the whole 2 MiB pages inside each view's memory
 * with huge pages (madvise MADV_HUGEPAGE), before anything is written to
 * it: writing fresh memory costs a page fault per 4 KiB page otherwise
 * (numpy does the same for arrays of 4 MiB and more). Only advice: nothing
 * about the memory's contents or lifetime changes. Views of fewer than two
 * huge pages are left alone. Returns how many views were advised; 0 when
 * {@linkcode hugePages} is off.
 */
export function adviseHugePages(views: readonly ArrayBufferView[]): number {
  const big = views.filter((v) => v.byteLength >= 2 * Number(HUGE));
  if (!big.length || !hugePages().on) return 0;
  const deno = denoGlobal()!;
  const ptr = deno.UnsafePointer!;
  let lib: ReturnType<NonNullable<DenoGlobal["dlopen"]>> | undefined;
  let n = 0;
  try {
    lib = deno.dlopen!("libc.so.6", MADVISE);
    for (const v of big) {
      const at = BigInt(ptr.value(ptr.of(v)));
      const start = (at + HUGE - 1n) & ~(HUGE - 1n);
      const end = (at + BigInt(v.byteLength)) & ~(HUGE - 1n);
      if (end - start < HUGE) continue;
      if (lib.symbols.madvise(ptr.create(start), end - start, MADV_HUGEPAGE) === 0) n++;
    }
  } catch {
    hugeState = { on: false, why: "madvise failed" };
  } finally {
    lib?.close();
  }
  return n;
}

// ---------------------------------------------------------------- native inflate

/** What {@linkcode nativeInflate} returns when the stream is damaged. */
export const INFLATE_BAD = -1;
/** What {@linkcode nativeInflate} returns when the stream inflates beyond `out`. */
export const INFLATE_BEYOND = -2;

const LIBDEFLATE_NAMES = [
  "libdeflate.so.0",
  "libdeflate.so",
  "libdeflate.0.dylib",
  "libdeflate.dylib",
];
const LIBDEFLATE = {
  libdeflate_alloc_decompressor: { parameters: [], result: "pointer" },
  libdeflate_zlib_decompress: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "buffer"],
    result: "i32",
  },
  libdeflate_gzip_decompress: {
    parameters: ["pointer", "buffer", "usize", "buffer", "usize", "buffer"],
    result: "i32",
  },
} as const;

interface Inflater {
  decompressor: unknown;
  zlib(d: unknown, i: Uint8Array, n: bigint, o: Uint8Array, m: bigint, got: BigUint64Array): number;
  gzip(d: unknown, i: Uint8Array, n: bigint, o: Uint8Array, m: bigint, got: BigUint64Array): number;
  got: BigUint64Array;
}
let inflater: Inflater | null | undefined;
let inflaterWhy = "";

/**
 * Whether {@linkcode nativeInflate} works here, and why not: Deno with the
 * ffi permission already granted (queried, never asked for), libdeflate
 * installed (Debian's `libdeflate0`), and `LAMIN_LIBDEFLATE` not `0`.
 * Measured on the atlases' 78 KB chunks: 1.5x the output rate of
 * `node:zlib`'s `inflateSync` under Deno.
 */
export function nativeInflateInfo(): { readonly on: boolean; readonly why: string } {
  // Asked once a chunk: the answer is made once.
  return inflaterInfo ??= Object.freeze({ on: loadInflater() !== null, why: inflaterWhy });
}
let inflaterInfo: { readonly on: boolean; readonly why: string } | undefined;

function loadInflater(): Inflater | null {
  if (inflater !== undefined) return inflater;
  inflater = null;
  const deno = denoGlobal();
  if (!deno?.dlopen || !deno.permissions?.querySync) return inflaterWhy = "not Deno (no FFI)", null;
  let off: string | undefined;
  try {
    off = env("LAMIN_LIBDEFLATE");
  } catch {
    off = undefined;
  }
  if (off === "0") return inflaterWhy = "LAMIN_LIBDEFLATE=0", null;
  try {
    if (deno.permissions.querySync({ name: "ffi" }).state !== "granted") {
      return inflaterWhy = "no ffi permission (--allow-ffi)", null;
    }
  } catch {
    return inflaterWhy = "the ffi permission cannot be queried", null;
  }
  for (const name of LIBDEFLATE_NAMES) {
    try {
      // Never closed: one decompressor for this thread's life.
      const lib = deno.dlopen(name, LIBDEFLATE as unknown as Parameters<DlOpen>[1]);
      const s = lib.symbols as unknown as Record<string, (...a: unknown[]) => unknown>;
      const decompressor = s.libdeflate_alloc_decompressor();
      if (decompressor === null) continue;
      inflater = {
        decompressor,
        zlib: s.libdeflate_zlib_decompress as Inflater["zlib"],
        gzip: s.libdeflate_gzip_decompress as Inflater["gzip"],
        got: new BigUint64Array(1),
      };
      inflaterWhy = name;
      return inflater;
    } catch {
      // not this name
    }
  }
  inflaterWhy = "libdeflate is not installed";
  return null;
}

/**
 * Inflate a whole zlib (RFC 1950) or gzip (RFC 1952) stream into `out`
 * with libdeflate, checksum checked. Returns the bytes written,
 * {@linkcode INFLATE_BAD} for a damaged stream, {@linkcode INFLATE_BEYOND}
 * when it inflates to more than `out` holds; `undefined` when libdeflate
 * cannot be used here (see {@linkcode nativeInflateInfo}): inflate
 * another way then.
 */
export function nativeInflate(
  input: Uint8Array,
  out: Uint8Array,
  format: "zlib" | "gzip" = "zlib",
): number | undefined {
  const z = loadInflater();
  if (!z || out.length === 0 || input.length === 0) return undefined;
  const rc = (format === "zlib" ? z.zlib : z.gzip)(
    z.decompressor,
    input,
    BigInt(input.length),
    out,
    BigInt(out.length),
    z.got,
  );
  // libdeflate_result: 0 success, 1 bad data, 3 insufficient space.
  if (rc === 0) return Number(z.got[0]);
  return rc === 3 ? INFLATE_BEYOND : INFLATE_BAD;
}

/** The parts of `Deno.jupyter` the library uses. */
export interface JupyterBridge {
  display?: (data: unknown, options: unknown) => Promise<void>;
  broadcast?: (type: string, content: unknown) => Promise<void>;
}

interface DenoGlobal {
  mainModule: string;
  build?: { os: string };
  permissions?: { querySync?(d: { name: string; path?: string }): { state: string } };
  dlopen?: DlOpen;
  UnsafePointer?: {
    of(view: ArrayBufferView): unknown;
    value(p: unknown): number | bigint;
    create(v: bigint): unknown;
  };
  statSync(
    path: string,
  ): Omit<FileInfo, "mtime" | "mode"> & { mtime: Date | null; mode: number | null };
  lstatSync(
    path: string,
  ): Omit<FileInfo, "mtime" | "mode"> & { mtime: Date | null; mode: number | null };
  jupyter?: JupyterBridge;
  readFile(path: string): Promise<Uint8Array>;
  readFileSync(path: string): Uint8Array;
  openSync(path: string): {
    statSync(): { size: number };
    readSync(into: Uint8Array): number | null;
    close(): void;
  };
}

type DlOpen = (
  path: string,
  symbols: {
    madvise: { parameters: ["pointer", "usize", "i32"]; result: "i32" };
  },
) => {
  symbols: { madvise(p: unknown, n: bigint, advice: number): number };
  close(): void;
};

function denoGlobal(): DenoGlobal | undefined {
  return (globalThis as unknown as { Deno?: DenoGlobal }).Deno;
}

// ---------------------------------------------------------------- errors

function code(e: unknown): string | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const c = (e as { code?: unknown }).code;
  return typeof c === "string" ? c : undefined;
}

// Deno's own errors (Deno.errors.*) carry the name; node:fs errors the code.
function is(e: unknown, codes: string[], name: string): boolean {
  const c = code(e);
  return (c !== undefined && codes.includes(c)) || (e instanceof Error && e.name === name);
}

/** Nothing at that path. */
export function isNotFound(e: unknown): boolean {
  return is(e, ["ENOENT"], "NotFound");
}

/** Something already at that path (exclusive create, link). */
export function isAlreadyExists(e: unknown): boolean {
  return is(e, ["EEXIST"], "AlreadyExists");
}

/** A path component is a file, not a folder. */
export function isNotADirectory(e: unknown): boolean {
  return is(e, ["ENOTDIR"], "NotADirectory");
}

/** A folder where a file was expected. */
export function isADirectory(e: unknown): boolean {
  return is(e, ["EISDIR"], "IsADirectory");
}

// ---------------------------------------------------------------- paths and folders

/** What `stat` and `lstat` tell (mtime, mode undefined where the platform has none). */
export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  size: number;
  mtime: Date | undefined;
  mode: number | undefined;
}

/** One entry of a folder. */
export interface DirEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

function info(s: fs.Stats): FileInfo {
  return {
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymlink: s.isSymbolicLink(),
    size: s.size,
    mtime: s.mtime ?? undefined,
    mode: s.mode ?? undefined,
  };
}

function entry(d: fs.Dirent): DirEntry {
  return {
    name: d.name,
    isFile: d.isFile(),
    isDirectory: d.isDirectory(),
    isSymlink: d.isSymbolicLink(),
  };
}

/** Follows links. */
export async function stat(path: string): Promise<FileInfo> {
  return info(await fsp.stat(path));
}

/** Follows links. (Deno's own call where there is one: node:fs's is ~4x slower there.) */
export function statSync(path: string): FileInfo {
  const deno = denoGlobal();
  return deno ? denoInfo(deno.statSync(path)) : info(fs.statSync(path));
}

/** A FileInfo from what Deno's stat calls give. */
function denoInfo(s: ReturnType<DenoGlobal["statSync"]>): FileInfo {
  return {
    isFile: s.isFile,
    isDirectory: s.isDirectory,
    isSymlink: s.isSymlink,
    size: s.size,
    mtime: s.mtime ?? undefined,
    mode: s.mode ?? undefined,
  };
}

/** Does not follow a final link. */
export async function lstat(path: string): Promise<FileInfo> {
  return info(await fsp.lstat(path));
}

/** Does not follow a final link. (Deno's own call where there is one, as for `statSync`.) */
export function lstatSync(path: string): FileInfo {
  const deno = denoGlobal();
  return deno ? denoInfo(deno.lstatSync(path)) : info(fs.lstatSync(path));
}

/** The path with every symbolic link resolved. */
export function realPath(path: string): Promise<string> {
  return fsp.realpath(path);
}

/** The path with every symbolic link resolved. */
export function realPathSync(path: string): string {
  return fs.realpathSync(path);
}

/** Where a symbolic link points. */
export function readLinkSync(path: string): string {
  return fs.readlinkSync(path);
}

/** The entries of a folder. */
export async function readDir(path: string): Promise<DirEntry[]> {
  return (await fsp.readdir(path, { withFileTypes: true })).map(entry);
}

/** The entries of a folder. */
export function readDirSync(path: string): DirEntry[] {
  return fs.readdirSync(path, { withFileTypes: true }).map(entry);
}

/** Create a folder (with its parents when `recursive`). */
export async function mkdir(
  path: string,
  options: { recursive?: boolean; mode?: number } = {},
): Promise<void> {
  await fsp.mkdir(path, { recursive: options.recursive ?? false, mode: options.mode });
}

/** Set a path's permission bits. */
export function chmod(path: string, mode: number): Promise<void> {
  return fsp.chmod(path, mode);
}

/** A new empty folder in the system's temp folder. */
export function makeTempDir(options: { prefix?: string } = {}): Promise<string> {
  return fsp.mkdtemp(join(tmpdir(), options.prefix ?? "lamindeno-"));
}

/**
 * Remove a file or a link, or a folder: an empty one, or with everything
 * in it when `recursive`. Missing: an error `isNotFound` recognizes.
 */
export async function remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
  if (options.recursive) {
    await fsp.lstat(path); // missing: NotFound, as without `recursive`
    await fsp.rm(path, { recursive: true, force: true });
    return;
  }
  try {
    await fsp.unlink(path);
  } catch (e) {
    // A folder: EISDIR on Linux, EPERM elsewhere.
    if (isADirectory(e) || code(e) === "EPERM") await fsp.rmdir(path);
    else throw e;
  }
}

/** Move `from` to `to`, replacing a file at `to`. */
export function rename(from: string, to: string): Promise<void> {
  return fsp.rename(from, to);
}

/** A hard link; `isAlreadyExists` when `to` exists. */
export function link(from: string, to: string): Promise<void> {
  return fsp.link(from, to);
}

// ---------------------------------------------------------------- whole files

/**
 * The bytes of a file. (Deno's own call where there is one: one op, where
 * node:fs's opens, stats and reads in separate ones, ~3x the main-thread time
 * for the hundreds of chunk files of a zarr read.)
 */
export async function readFile(path: string): Promise<Uint8Array> {
  const deno = denoGlobal();
  return deno ? await deno.readFile(path) : bytes(await fsp.readFile(path));
}

/** The bytes of a file. (Deno's own call where there is one, as for `readFile`.) */
export function readFileSync(path: string): Uint8Array {
  const deno = denoGlobal();
  return deno ? deno.readFileSync(path) : bytes(fs.readFileSync(path));
}

/** Files up to this size are read at once by the zarr stores (see `readSmallSync`). */
export const SMALL_FILE = 64 << 10;

/**
 * A file's bytes when it holds at most `max` (else only its size), read at
 * once: for the thousands of tiny files of a zarr store (a thread-pool
 * round trip each costs more than the read). Deno's own calls where there
 * are (node:fs's cost ~2x the main-thread time here).
 */
export function readSmallSync(path: string, max: number): { bytes?: Uint8Array; size: number } {
  const deno = denoGlobal();
  if (!deno) {
    const fd = fs.openSync(path, "r");
    try {
      const size = fs.fstatSync(fd).size;
      if (size > max) return { size };
      const buf = new Uint8Array(size);
      let n = 0, got = 0;
      while (n < size && (got = fs.readSync(fd, buf, n, size - n, n)) > 0) n += got;
      return { bytes: buf.subarray(0, n), size };
    } finally {
      fs.closeSync(fd);
    }
  }
  const f = deno.openSync(path);
  try {
    const size = f.statSync().size;
    if (size > max) return { size };
    const buf = new Uint8Array(size);
    let n = 0, got: number | null = 0;
    while (n < size && (got = f.readSync(buf.subarray(n))) !== null && got > 0) n += got;
    return { bytes: buf.subarray(0, n), size };
  } finally {
    f.close();
  }
}

/** Up to `max` bytes from the start of a file (fewer if it is shorter). */
export function readPrefixSync(path: string, max: number): Uint8Array {
  const fd = fs.openSync(path, "r");
  try {
    const buf = new Uint8Array(max);
    let n = 0, got = 0;
    while (n < max && (got = fs.readSync(fd, buf, n, max - n, n)) > 0) n += got;
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** How many times `byte` occurs in a file, read in 1 MiB pieces. */
export function countByteSync(path: string, byte: number): number {
  const fd = fs.openSync(path, "r");
  try {
    const buf = new Uint8Array(1 << 20);
    let count = 0, at = 0, got = 0;
    while ((got = fs.readSync(fd, buf, 0, buf.length, at)) > 0) {
      for (let i = 0; i < got; i++) if (buf[i] === byte) count++;
      at += got;
    }
    return count;
  } finally {
    fs.closeSync(fd);
  }
}

/** A file as UTF-8 text. */
export function readTextFile(path: string): Promise<string> {
  return fsp.readFile(path, "utf8");
}

/** A file as UTF-8 text. */
export function readTextFileSync(path: string): string {
  return fs.readFileSync(path, "utf8");
}

/** Write (create or truncate) a file. */
export function writeFile(path: string, data: Uint8Array): Promise<void> {
  return fsp.writeFile(path, data);
}

/**
 * Write (create or truncate) a UTF-8 text file; `createNew`: only a new one
 * (`isAlreadyExists` if there is one); `mode`: its permission bits when created.
 */
export function writeTextFile(
  path: string,
  text: string,
  options: { createNew?: boolean; mode?: number } = {},
): Promise<void> {
  return fsp.writeFile(path, text, {
    encoding: "utf8",
    flag: options.createNew ? "wx" : "w",
    mode: options.mode,
  });
}

// A Buffer is a Uint8Array; a plain view keeps callers' types (and equality in tests) simple.
function bytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// ---------------------------------------------------------------- open files

/**
 * Open a file: `"r"` read, `"r+"` read and write, `"w"` create or
 * truncate, `"wx"` create a new one (`isAlreadyExists` if there is one).
 */
export function openFile(path: string, mode: "r" | "r+" | "w" | "wx"): Promise<FileHandle> {
  return fsp.open(path, mode);
}

/** Read into `buf` at `position`, until it is full or the file ends; the bytes read. */
export async function readAt(f: FileHandle, buf: Uint8Array, position: number): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await f.read(buf, filled, buf.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** Write all of `data` at `position` (at the current end when omitted). */
export async function writeAll(f: FileHandle, data: Uint8Array, position?: number): Promise<void> {
  for (let o = 0; o < data.length;) {
    const at = position === undefined ? null : position + o;
    const { bytesWritten } = await f.write(data, o, data.length - o, at);
    o += bytesWritten;
  }
}

const STREAM_CHUNK = 256 * 1024;

/** A file as a byte stream (opened now, so a missing file fails here; closed at the end). */
export async function readStream(path: string): Promise<ReadableStream<Uint8Array>> {
  const f = await fsp.open(path, "r");
  let position = 0;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const buf = new Uint8Array(STREAM_CHUNK);
        const { bytesRead } = await f.read(buf, 0, buf.length, position);
        if (bytesRead === 0) {
          await f.close();
          controller.close();
          return;
        }
        position += bytesRead;
        controller.enqueue(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
      } catch (e) {
        await f.close().catch(() => {});
        controller.error(e);
      }
    },
    async cancel() {
      await f.close();
    },
  });
}

/** Write a stream into a new file (`isAlreadyExists` if there is one); the bytes written. */
export async function writeStream(path: string, body: ReadableStream<Uint8Array>): Promise<number> {
  const f = await fsp.open(path, "wx");
  let n = 0;
  try {
    for await (const chunk of body) {
      await writeAll(f, chunk);
      n += chunk.byteLength;
    }
  } finally {
    await f.close();
  }
  return n;
}

/** All items of an async iterable (`Array.fromAsync`, which Node 20 lacks). */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of items) out.push(x);
  return out;
}
