/**
 * The `lamindeno` command line: `deno run -A jsr:@lamindeno/lamindb/cli
 * <command>` (in a checkout: `deno task cli <command>`).
 *
 * Commands: `init` (create or open an instance and make it the per-user
 * default), `info`, `ls`/`view [--limit N]`, `save PATH [--key --description]`,
 * `get KEY` (stage, print the local path), `load KEY` (a preview),
 * `lineage KEY` (an SVG), `fsck [--repair]`, `kernel install`. Every command
 * takes `--help`; `info`, `ls`, `save`, `get`, `fsck` and `init` take
 * `--json`. Exit codes: 0 ok, 1 the library refused or failed (its message,
 * no stack), 2 bad usage, 3 `fsck` found problems.
 *
 * @example Run a command from code
 * ```ts ignore
 * import { main } from "@lamindeno/lamindb/cli";
 * const code = await main(["info", "--json"]); // prints the default instance
 * ```
 *
 * @module
 */
import * as ln from "../mod.ts";
import { redactText } from "../src/_redact.ts";
import { COMMANDS, help, UsageError } from "./_commands.ts";
import { MAIN_USAGE, USAGE } from "./_usage.ts";

/** Exit codes of {@linkcode main}. */
export const EXIT = { ok: 0, error: 1, usage: 2, problems: 3 } as const;

/**
 * Run the CLI with `args` (what follows the program's name); prints to
 * stdout and stderr and returns the exit code (see {@linkcode EXIT}).
 * Closes the instance it opened.
 */
export async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  try {
    if (command === undefined) {
      console.error(MAIN_USAGE);
      return EXIT.usage;
    }
    if (command === "--help" || command === "-h") {
      console.log(MAIN_USAGE);
      return EXIT.ok;
    }
    if (command === "help") {
      if (rest.length === 0) console.log(MAIN_USAGE);
      else return help(rest[0]);
      return EXIT.ok;
    }
    const run = COMMANDS[command];
    if (!run) throw new UsageError(`unknown command ${command}`);
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`${PROG_PREFIX}${e.message}\n`);
      console.error(e.command ? USAGE[e.command] : MAIN_USAGE);
      return EXIT.usage;
    }
    if (e instanceof ln.LaminError) {
      console.error(`${PROG_PREFIX}${e.name}: ${e.message}`);
      return EXIT.error;
    }
    // Not a refusal of the library: a defect, shown whole (secrets redacted).
    console.error(`${PROG_PREFIX}${redactText(String((e as Error)?.stack ?? e))}`);
    return EXIT.error;
  } finally {
    await ln.close().catch(() => {});
  }
}

const PROG_PREFIX = "lamindeno: ";

if (import.meta.main) Deno.exit(await main(Deno.args));
