// Running the reference Python peers (Debian's python3-anndata, h5py, ...).
// A test group whose peers are missing skips loudly locally and fails in CI.

export const PYTHON = "/usr/bin/python3";

const cache = new Map<string, boolean>();

/** True if `/usr/bin/python3` can import every module. */
export function hasPython(...modules: string[]): boolean {
  const key = modules.join(",");
  if (!cache.has(key)) {
    let ok = false;
    try {
      const r = new Deno.Command(PYTHON, {
        args: ["-c", modules.map((m) => `import ${m}`).join(";")],
        stdout: "null",
        stderr: "null",
      }).outputSync();
      ok = r.success;
    } catch {
      ok = false;
    }
    cache.set(key, ok);
  }
  return cache.get(key)!;
}

/**
 * `Deno.test` options for a group that needs Python modules: ignored (with a
 * loud message) when they are missing, except in CI where that is an error.
 */
export function needsPython(group: string, ...modules: string[]): { ignore: boolean } {
  if (hasPython(...modules)) return { ignore: false };
  const msg = `${group}: needs ${modules.join(", ")} for ${PYTHON}; install with ` +
    `apt-get install -y ${modules.map((m) => `python3-${m === "PIL" ? "pil" : m}`).join(" ")}`;
  if (Deno.env.get("CI") === "true") throw new Error(`CI must not skip tests: ${msg}`);
  console.error(`\n!!! SKIPPING ${msg}\n`);
  return { ignore: true };
}

/** Run a Python script with args; returns stdout; throws with stderr on failure. */
export async function python(script: string, ...args: string[]): Promise<string> {
  const r = await new Deno.Command(PYTHON, {
    args: ["-c", script, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  if (!r.success) {
    throw new Error(`python failed:\n${new TextDecoder().decode(r.stderr)}\n${out}`);
  }
  return out;
}
