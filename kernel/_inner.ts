// The inner kernel: the stock `deno jupyter --kernel`, started on fresh
// ports with the client's HMAC key and a private copy of its connection file.
import { basename, join } from "node:path";

/** The fields of a Jupyter connection file the proxy uses. */
export interface ConnectionInfo {
  /** Address to bind. */
  ip: string;
  /** Only "tcp" is supported. */
  transport: string;
  /** HMAC key ("" for unsigned messages). */
  key: string;
  /** Only "hmac-sha256" is supported. */
  signature_scheme: string;
  /** Port of the shell channel (ROUTER). */
  shell_port: number;
  /** Port of the iopub channel (PUB). */
  iopub_port: number;
  /** Port of the stdin channel (ROUTER). */
  stdin_port: number;
  /** Port of the control channel (ROUTER). */
  control_port: number;
  /** Port of the heartbeat (REP). */
  hb_port: number;
}

/** Free TCP ports on `ip`, as the kernel's own launcher picks them. */
export function freePorts(ip: string, n: number): number[] {
  const listeners = Array.from({ length: n }, () => Deno.listen({ hostname: ip, port: 0 }));
  const ports = listeners.map((l) => (l.addr as Deno.NetAddr).port);
  for (const l of listeners) l.close();
  return ports;
}

/** The parent process's arguments (Linux; empty elsewhere). */
export function parentArgv(): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${Deno.ppid}/cmdline`).split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** The inner kernel's process and ports. */
export interface Inner {
  child: Deno.ChildProcess;
  ip: string;
  shell: number;
  iopub: number;
  stdin: number;
  control: number;
  hb: number;
}

/**
 * Start the inner kernel: same key, fresh ports, a private copy of the
 * connection file in `dir` (same name, so the kernel id in it still reads
 * right). `command` (default `deno jupyter --kernel`) gets `--conn FILE` appended.
 */
export async function spawnInner(
  info: ConnectionInfo,
  connectionFile: string,
  dir: string,
  command: string[] = [Deno.execPath(), "jupyter", "--kernel"],
): Promise<Inner> {
  const ip = "127.0.0.1";
  const [shell, iopub, stdin, control, hb] = freePorts(ip, 5);
  const innerFile = join(dir, basename(connectionFile));
  await Deno.writeTextFile(
    innerFile,
    JSON.stringify({
      ...info,
      ip,
      shell_port: shell,
      iopub_port: iopub,
      stdin_port: stdin,
      control_port: control,
      hb_port: hb,
    }),
    { mode: 0o600 },
  );
  const [cmd, ...args] = command;
  const child = new Deno.Command(cmd, {
    args: [...args, "--conn", innerFile],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  return { child, ip, shell, iopub, stdin, control, hb };
}
