// Builds src/formats/_wasm/*.c into the WebAssembly modules the library
// embeds (base64 in a .wasm.ts file next to each source): `deno task wasm`.
// wasm_test.ts rebuilds each and compares it with the embedded bytes.
// Needs clang and wasm-ld (Debian: clang, lld).
const dir = new URL("../../src/formats/_wasm/", import.meta.url);

/** The sources built, by name (a `<name>.c` beside its `<name>.wasm.ts`). */
export const WASM_SOURCES = ["blosc_lz4"];

/** Compile `<name>.c` to WebAssembly (wasm32, SIMD, bulk memory, no libc). */
export async function buildWasm(name: string): Promise<Uint8Array> {
  const out = await Deno.makeTempFile({ suffix: ".wasm" });
  try {
    const cmd = new Deno.Command("clang", {
      args: [
        "--target=wasm32",
        "-O2",
        "-msimd128",
        "-mbulk-memory",
        "-nostdlib",
        "-ffreestanding",
        "-Wall",
        "-Werror",
        "-Wl,--no-entry",
        "-Wl,--strip-all",
        "-Wl,-z,stack-size=65536",
        "-o",
        out,
        new URL(`${name}.c`, dir).pathname,
      ],
    });
    const r = await cmd.output();
    if (!r.success) throw new Error(`clang failed:\n${new TextDecoder().decode(r.stderr)}`);
    return await Deno.readFile(out);
  } finally {
    await Deno.remove(out).catch(() => {});
  }
}

/** The TypeScript module embedding `bytes`. */
export function wasmModule(name: string, bytes: Uint8Array): string {
  let b64 = "";
  const s = btoa(String.fromCharCode(...bytes));
  for (let i = 0; i < s.length; i += 96) b64 += `  "${s.slice(i, i + 96)}" +\n`;
  return `// Built from ${name}.c by \`deno task wasm\` (test/formats/_wasm.ts); do not edit.\n` +
    `// deno-fmt-ignore-file\n` +
    `/** The WebAssembly module of ${name}.c, base64. */\n` +
    `export const WASM_BASE64 =\n${b64}  "";\n`;
}

if (import.meta.main) {
  for (const name of WASM_SOURCES) {
    const bytes = await buildWasm(name);
    await Deno.writeTextFile(new URL(`${name}.wasm.ts`, dir), wasmModule(name, bytes));
    console.log(`${name}.wasm.ts: ${bytes.length} bytes of WebAssembly`);
  }
}
