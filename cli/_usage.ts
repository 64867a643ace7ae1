// The help texts of the CLI, one per command.

/** How the CLI is run, for the help texts. */
export const PROG = "lamindeno";

const INSTANCE = `
instance options (default: the per-user default instance, set by \`${PROG} init\`):
  --storage DIR|S3    use the existing instance at this storage root instead
  --db URL            its registry (a libSQL file or postgresql://user@host/db)`;

/** `lamindeno --help`. */
export const MAIN_USAGE = `usage: ${PROG} <command> [options]
       (deno run -A jsr:@lamindeno/lamindb/cli ...; in a checkout: deno task cli ...)

commands:
  init        create or open an instance and make it the per-user default
  info        the instance, registry, storage, user and record counts
  ls, view    the latest files as a table
  save PATH   register a file (copied into the storage unless it is inside it)
  get KEY     stage a file and print its local path
  load KEY    load a file and print a preview
  lineage KEY write an SVG of where a file came from
  fsck        check the registry against the storage (--repair)
  kernel      install the lamindeno Jupyter kernel (kernel install --help)
  help [CMD]  this help, or a command's

Every command takes --help; info, ls, save, get, fsck and init take --json.
exit codes: 0 ok, 1 the library refused or failed (the message says why),
2 bad usage, 3 fsck found problems`;

/** Help text per command. */
export const USAGE: Record<string, string> = {
  init: `usage: ${PROG} init [--storage DIR|S3] [--db URL] [options]

Create the instance at --storage (or open it when it exists) and make it the
per-user default that other commands and ln.init() with no arguments open.
Prints one line: "created instance: registry ..., storage ..." or "opened ...".
Without --storage, opens the current default instance.

options:
  --storage DIR|S3     a local folder or s3://bucket/prefix
  --db URL             the registry: a libSQL file or postgresql://user:password@host/db
                       (a password is kept in a private pgpass file, never in settings.json)
  --s3-endpoint URL    an S3-compatible endpoint (default: AWS)
  --s3-region REGION   the S3 region
  --s3-path-style      path-style S3 URLs (most S3-compatible servers)
  --cache-dir DIR      where cloud objects are cached
  --no-create          only open an existing instance; fail if there is none
  --json               print {created, registry, storage, settings} as JSON
  -h, --help           show this help

The default is stored in $LAMINDENO_HOME/settings.json, else
$XDG_CONFIG_HOME/lamindeno/settings.json, else ~/.config/lamindeno/settings.json.`,
  info: `usage: ${PROG} info [--json]

The open instance: its storage root, registry, user, cache folder and how many
files, runs, transforms and labels it holds.

options:
  --json               print it as JSON
  -h, --help           show this help
${INSTANCE}`,
  ls: `usage: ${PROG} ls [--limit N] [--json]      (also: ${PROG} view)

The latest files (most recently changed first) as a table: id, key, suffix,
size, updated.

options:
  --limit N            at most N files (default 20)
  --json               print the records as a JSON array
  -h, --help           show this help
${INSTANCE}`,
  save: `usage: ${PROG} save PATH [--key KEY] [--description TEXT] [--json]

Register PATH (a local file or folder, s3:// or https:// URL) as a file
record. A path inside the storage root is registered in place; others are
copied into it. Content already registered becomes that record.

options:
  --key KEY            the key in the storage (default: the path in the root, if inside)
  --description TEXT   a description
  --json               print the record as JSON
  -h, --help           show this help
${INSTANCE}`,
  get: `usage: ${PROG} get KEY [--json]

Stage the file with this key (a cached copy for cloud files) and print its local
path, so a shell can use it: cat "$(${PROG} get raw/cells.csv)".

options:
  --json               print {id, key, uri, path} as JSON
  -h, --help           show this help
${INSTANCE}`,
  load: `usage: ${PROG} load KEY [--rows N]

Load the file with this key (a DataFrame, AnnData, image, ...) and print a
preview; a file with no in-memory form shows its first lines (or its size).

options:
  --rows N             rows or lines to show (default 10)
  -h, --help           show this help
${INSTANCE}`,
  lineage: `usage: ${PROG} lineage KEY [--out FILE]

Write an SVG of where the file came from (its run, transform, input files,
upstream) and print the SVG's path.

options:
  --out FILE           where to write it (default: KEY's name + .lineage.svg, here)
  -h, --help           show this help
${INSTANCE}`,
  fsck: `usage: ${PROG} fsck [--repair] [--no-hash] [--json]

Check the registry against the storage: every object present with its size and
md5, no leftovers of interrupted writes, no orphans.

options:
  --repair             remove leftovers and orphans, finish interrupted replaces
  --no-hash            compare sizes only (fast)
  --json               print the report as JSON
  -h, --help           show this help
${INSTANCE}

exit codes: 0 healthy (after --repair: nothing left to fix), 3 problems found
(after --repair: missing or mismatched objects, which it does not repair).`,
  kernel: `usage: ${PROG} kernel install [options]

Install the lamindeno Jupyter kernelspec; \`${PROG} kernel install --help\` lists
its options.`,
};
