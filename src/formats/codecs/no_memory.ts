// Known formats without an in-memory representation: they register, stage
// and hash like any file; load() points to path() / stage().
import { defineCodec } from "../codec.ts";

/**
 * Known suffixes that have no in-memory form here (`.fastq`, `.vcf`,
 * `.html`, ...): `load()` throws `NoInMemoryRepresentationError` for them
 * rather than `UnsupportedFormatError`.
 *
 * @example
 * ```ts
 * import { noMemory } from "./no_memory.ts";
 * console.assert(noMemory.suffixes.includes(".fastq.gz") && noMemory.read === undefined);
 * ```
 */
export const noMemory = defineCodec({
  name: "no_memory",
  noun: "nothing",
  suffixes: [
    ".fastq",
    ".fastq.gz",
    ".fq",
    ".fq.gz",
    ".fasta",
    ".fa",
    ".vcf",
    ".vcf.gz",
    ".bam",
    ".sam",
    ".cram",
    ".bed",
    ".gtf",
    ".gff",
    ".html",
    ".txt",
    ".json",
    ".pdf",
    ".tar.gz",
    ".zip",
  ],
});
