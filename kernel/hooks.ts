// What the kernel proxy tells a provenance recorder. Hooks run inside the
// proxy process; they must be quick, and their errors never stop forwarding.

/** Callbacks the kernel proxy calls as a session runs. Every hook is optional. */
export interface KernelHooks {
  /** The proxy started (before the inner kernel answered anything); not awaited by forwarding. */
  onSessionStart?(info: {
    /** Random id of this kernel process's session (also `globalThis.__lamindeno_kernel.sessionId`). */
    kernelSessionId: string;
    /** Absolute path of the connection file the Jupyter client gave us. */
    connectionFile: string;
    /** The parent process's command line, arguments joined by spaces. */
    parentCommandLine: string;
    /** The parent process's arguments, unjoined (e.g. to find an `.ipynb` path). */
    parentArgv?: string[];
    /** The kernel's working directory. */
    cwd: string;
  }): Promise<void> | void;
  /** A client's execute_request is being forwarded (hidden proxy requests excluded). */
  onExecuteRequest?(msg: {
    /** The request's msg_id. */
    msgId: string;
    /** The cell's code. */
    code: string;
    /** The notebook cell id, when the client sent one (`metadata.cellId`). */
    cellId?: string;
    /** True for `silent` requests (front-end housekeeping, not user cells). */
    silent?: boolean;
    /** When the request reached the proxy. */
    startedAt: Date;
  }): void;
  /** The execute_reply for a forwarded request came back. */
  onExecuteReply?(msg: {
    /** The msg_id of the request replied to. */
    msgId: string;
    /** The cell's execution count. */
    executionCount: number;
    /** Outcome. */
    status: "ok" | "error" | "aborted";
    /** Error name (e.g. `TypeError`) when status is "error". */
    errorName?: string;
    /** When the reply reached the proxy. */
    endedAt: Date;
  }): void;
  /**
   * A message the notebook sent to the kernel itself with
   * `Deno.jupyter.broadcast("lamindeno_<what>", content)`; such messages are
   * not forwarded to the client.
   */
  onKernelMessage?(msg: {
    /** The message type, starting with `lamindeno_`. */
    msgType: string;
    /** Its content. */
    content: unknown;
    /** msg_id of the execute_request that was running when it was sent. */
    parentMsgId?: string;
  }): void;
  /** The kernel is shutting down (awaited, for at most 5 s). */
  onShutdown?(): Promise<void> | void;
}

/** Hooks calling each of `list` in turn. */
export function combineHooks(...list: KernelHooks[]): KernelHooks {
  const all = <K extends keyof KernelHooks>(k: K) =>
    list.map((h) => h[k]?.bind(h)).filter((f) => f !== undefined) as NonNullable<
      KernelHooks[K]
    >[];
  return {
    async onSessionStart(info) {
      for (const f of all("onSessionStart")) await f(info);
    },
    onExecuteRequest(msg) {
      for (const f of all("onExecuteRequest")) f(msg);
    },
    onExecuteReply(msg) {
      for (const f of all("onExecuteReply")) f(msg);
    },
    onKernelMessage(msg) {
      for (const f of all("onKernelMessage")) f(msg);
    },
    async onShutdown() {
      for (const f of all("onShutdown")) await f();
    },
  };
}
