// Interrupts of the lamindeno kernel, as the library sees them. The kernel's
// support code in the notebook's isolate (kernel/_inside.ts) rejects the
// promises a cell awaits and notes when it did in a global; a long write
// (a save hashing and copying hundreds of MB) awaits mostly native I/O that
// nothing rejects, so it checks that note at its safe points (between
// chunks, between steps) and stops there with an `Interrupted` error, which
// runs its normal undo (the temporary file, the objects placed, the
// journal). Outside the kernel the global is never set: checks do nothing.
// A leaf: imports nothing (track/kernel_messages.ts re-exports the global's name).

/**
 * Name of the global the kernel's support code sets in the notebook's isolate
 * when it handles an interrupt (value: {@linkcode InterruptMark}).
 */
export const INTERRUPT_GLOBAL = "__lamindeno_interrupt";

/** The value of `globalThis[INTERRUPT_GLOBAL]`: the last interrupt the isolate handled. */
export interface InterruptMark {
  /** When it was handled (ms since epoch). */
  at: number;
}

/** The error of a write stopped by a kernel interrupt; what it had written was undone. */
export class Interrupted extends Error {
  /** Always `"Interrupted"`, as the kernel's own rejections. */
  override name = "Interrupted";
}

/** True for an `Interrupted` error (the library's or the kernel's rejection of a promise). */
export function isInterrupted(e: unknown): boolean {
  return e instanceof Error && e.name === "Interrupted";
}

/**
 * A check for the safe points of one operation: it throws `Interrupted` once
 * the kernel handled an interrupt after this call.
 */
export function interruptCheck(what: string): () => void {
  const started = Date.now();
  return () => {
    const mark = (globalThis as Record<string, unknown>)[INTERRUPT_GLOBAL] as
      | Partial<InterruptMark>
      | undefined;
    if (typeof mark?.at === "number" && mark.at >= started) {
      throw new Interrupted(`execution interrupted: ${what} stopped; nothing of it was kept`);
    }
  };
}

/** Let the event loop run (signal handlers included) between slices of synchronous work. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** Long synchronous work (hashing bytes) is done in slices of this many bytes. */
export const SLICE = 8 << 20;
