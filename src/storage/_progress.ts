// Progress of long transfers (hashing, copying, uploading, downloading,
// staging): a count per phase that reports to a caller's `onProgress`, and
// for large objects draws a live bar on a terminal (stderr) or an updating
// display in a Jupyter notebook; nothing when output is not interactive.
import { inJupyter, shows } from "../_log.ts";

/** What is being done to the bytes. */
export type ProgressPhase = "hash" | "copy" | "upload" | "download" | "stage";

/** One report: `done` of `total` bytes of a phase. */
export interface Progress {
  /** `"hash"`, `"copy"` (to local storage), `"upload"`, `"download"` or `"stage"`. */
  phase: ProgressPhase;
  /** Bytes done so far (never decreases within a phase). */
  done: number;
  /** Bytes in all (grows if `done` passes it); the last report of a phase has `done === total`. */
  total: number;
}

/** Called as a phase advances (about every 1% of it) and once when it ends. */
export type OnProgress = (progress: Progress) => void;

/** Objects at least this large (8 MiB) show a bar or display; any size reports to a callback. */
export const DISPLAY_THRESHOLD = 8 << 20;

// The runtime's terminal, in one place (to swap for another runtime's).
function stderrIsTerminal(): boolean {
  try {
    return Deno.stderr.isTerminal();
  } catch {
    return false;
  }
}

const encoder = new TextEncoder();
function writeStderr(text: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(text));
  } catch { /* a closed stderr: nothing to show */ }
}

type Display = (obj: unknown, options: Record<string, unknown>) => Promise<void>;
function jupyterDisplay(): Display | undefined {
  if (!inJupyter()) return undefined;
  try {
    // deno-lint-ignore no-explicit-any
    const d = (Deno as any).jupyter?.display;
    return typeof d === "function" ? d : undefined;
  } catch {
    return undefined;
  }
}

const MB = 1e6;
const WIDTH = 24;

function duration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.ceil(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/** `label phase [████░░░░] 45%  12.3/27.0 MB  8.1 MB/s  ETA 2s`. */
function progressLine(
  label: string,
  p: Progress,
  seconds: number,
  final = false,
): string {
  const frac = p.total > 0 ? Math.min(p.done / p.total, 1) : 1;
  const fill = Math.round(frac * WIDTH);
  const rate = seconds > 0 ? p.done / seconds : 0;
  const eta = final ? `in ${duration(seconds)}` : `ETA ${duration((p.total - p.done) / rate)}`;
  return `${label ? `${label} ` : ""}${p.phase} [${"█".repeat(fill)}${"░".repeat(WIDTH - fill)}] ` +
    `${String(Math.floor(frac * 100)).padStart(3)}%  ${(p.done / MB).toFixed(1)}/${
      (p.total / MB).toFixed(1)
    } MB  ${(rate / MB).toFixed(1)} MB/s  ${eta}`;
}

let displays = 0;

/**
 * A count of one phase over one object (or a folder's objects): `add` the
 * bytes as they pass, `end` when the phase is done.
 */
export class ProgressTracker {
  readonly phase: ProgressPhase;
  #total: number;
  #done = 0;
  #reported = -1;
  #step: number;
  #callback: OnProgress | undefined;
  #label: string;
  #start = performance.now();
  #drawn = 0;
  #mode: "terminal" | "notebook" | undefined;
  #display: Display | undefined;
  #id = `lamindeno-progress-${crypto.randomUUID().slice(0, 8)}-${++displays}`;
  #shown = false;
  #chain: Promise<void> = Promise.resolve();

  constructor(
    phase: ProgressPhase,
    total: number,
    label: string,
    onProgress: OnProgress | undefined,
    mode: "terminal" | "notebook" | undefined,
  ) {
    this.phase = phase;
    this.#total = Math.max(total, 0);
    this.#step = Math.max(Math.floor(this.#total / 100), 1);
    this.#callback = onProgress;
    this.#label = label;
    this.#mode = mode;
    if (mode === "notebook") this.#display = jupyterDisplay();
  }

  /** Bytes done so far. */
  get done(): number {
    return this.#done;
  }

  /** Count `n` more bytes. */
  add(n: number): void {
    if (n <= 0) return;
    this.#done += n;
    // More than planned (a source that grew, reads that overlap): the total grows with it.
    if (this.#done > this.#total) this.#total = this.#done;
    if (this.#done - this.#reported >= this.#step || this.#done === this.#total) this.#report();
    this.#draw(false);
  }

  /**
   * The phase is over: report `done === total` once more if not yet reported
   * and finish the bar. `total` replaces the planned total (e.g. a stream
   * that read only part of an object ends at the bytes it read).
   */
  end(total = this.#total): void {
    const changed = total !== this.#total;
    this.#total = total;
    this.#done = total;
    if (changed || this.#reported !== this.#done) this.#report();
    this.#draw(true);
  }

  #report(): void {
    this.#reported = this.#done;
    this.#callback?.({ phase: this.phase, done: this.#done, total: this.#total });
  }

  #draw(final: boolean): void {
    if (!this.#mode) return;
    const now = performance.now();
    if (!final && now - this.#drawn < (this.#mode === "terminal" ? 100 : 250)) return;
    this.#drawn = now;
    const line = progressLine(
      this.#label,
      { phase: this.phase, done: this.#done, total: this.#total },
      (now - this.#start) / 1000,
      final,
    );
    if (this.#mode === "terminal") {
      writeStderr(`\r\x1b[2K${line}${final ? "\n" : ""}`);
      return;
    }
    const display = this.#display;
    if (!display) return;
    const pct = this.#total > 0 ? Math.min(this.#done / this.#total, 1) : 1;
    const bundle = {
      "text/plain": line,
      "text/html": `<progress value="${pct.toFixed(3)}" max="1" style="width:14em"></progress> ` +
        `<code>${line.replace(/\[.*\] /, "").replace(/&/g, "&amp;").replace(/</g, "&lt;")}</code>`,
    };
    const update = this.#shown;
    this.#shown = true;
    this.#chain = this.#chain
      .then(() => display(bundle, { raw: true, display_id: this.#id, update }))
      .catch(() => {});
  }
}

/** Options of {@linkcode startProgress}. */
export interface ProgressOptions {
  /** Reports of every phase, whatever the size. */
  onProgress?: OnProgress;
  /** What the bar names (a key or file name). */
  label?: string;
  /** Only the callback: no bar or display. */
  quiet?: boolean;
}

/**
 * A tracker for `phase` over `total` bytes, or undefined when nobody would
 * see it: no callback, and the object is small, output is not a terminal or
 * notebook, or verbosity is below `"success"`.
 */
export function startProgress(
  phase: ProgressPhase,
  total: number,
  options: ProgressOptions = {},
): ProgressTracker | undefined {
  let mode: "terminal" | "notebook" | undefined;
  if (!options.quiet && total >= DISPLAY_THRESHOLD && shows("success")) {
    mode = inJupyter() ? "notebook" : stderrIsTerminal() ? "terminal" : undefined;
  }
  if (!mode && !options.onProgress) return undefined;
  return new ProgressTracker(phase, total, options.label ?? "", options.onProgress, mode);
}

/** `stream` with every chunk counted by `tracker` (as it is read by the consumer). */
export function countStream(
  stream: ReadableStream<Uint8Array>,
  tracker: ProgressTracker | undefined,
): ReadableStream<Uint8Array> {
  if (!tracker) return stream;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        tracker.add(chunk.byteLength);
        ctl.enqueue(chunk);
      },
    }),
  );
}
