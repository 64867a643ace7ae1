// One table: suffix -> kind of in-memory representation. Adding a format is
// one line here plus its reader/writer file.

/** What `load()` returns for a suffix. */
export type Kind = "table" | "anndata" | "mudata" | "image" | "zarr" | "none" | "unknown";

const KINDS: Record<string, Kind> = {
  ".csv": "table",
  ".tsv": "table",
  ".parquet": "table",
  ".ipc": "table",
  ".feather": "table",
  ".arrow": "table",
  ".h5ad": "anndata",
  ".h5mu": "mudata",
  ".zarr": "zarr",
  ".png": "image",
  ".jpg": "image",
  ".jpeg": "image",
  // Known formats without an in-memory representation here.
  ".fastq": "none",
  ".fastq.gz": "none",
  ".fq": "none",
  ".fq.gz": "none",
  ".fasta": "none",
  ".fa": "none",
  ".vcf": "none",
  ".vcf.gz": "none",
  ".bam": "none",
  ".sam": "none",
  ".cram": "none",
  ".bed": "none",
  ".gtf": "none",
  ".gff": "none",
  ".html": "none",
  ".txt": "none",
  ".json": "none",
  ".pdf": "none",
  ".tar.gz": "none",
  ".zip": "none",
};

/** The kind of a suffix: `"none"` for known formats without an in-memory form, `"unknown"` else. */
export function kindOf(suffix: string): Kind {
  return KINDS[suffix.toLowerCase()] ?? "unknown";
}

/** Suffixes that load into memory, for messages. */
export const LOADABLE: readonly string[] = Object.keys(KINDS).filter((s) => KINDS[s] !== "none");
