// Generated registry rows for the 1,000,000-file benchmark: files with keys,
// names, sizes and descriptions drawn from small vocabularies (seeded, the
// same every run), their search words (the library's own tokenizer) and
// label links. Loaded raw (indexes dropped, rows inserted in large
// statements, indexes rebuilt), then queried through the library.
import { SEARCH_FIELDS, type SearchDoc, searchId } from "../src/registry/_search_index.ts";
import { recordWords } from "../src/registry/_search_tokens.ts";
import { seededRandom } from "../src/_ids.ts";

export const TISSUES = [
  "lung",
  "blood",
  "liver",
  "kidney",
  "brain",
  "heart",
  "spleen",
  "skin",
  "bone marrow",
  "thymus",
  "colon",
  "stomach",
  "pancreas",
  "retina",
  "muscle",
  "adipose",
  "breast",
  "prostate",
  "ovary",
  "testis",
  "placenta",
  "tonsil",
  "lymph node",
  "bladder",
  "esophagus",
  "trachea",
  "uterus",
  "cortex",
  "cerebellum",
  "hippocampus",
  "aorta",
  "artery",
  "vein",
  "kidney cortex",
  "ileum",
  "jejunum",
  "duodenum",
  "rectum",
  "appendix",
  "gallbladder",
];
export const CELL_TYPES = [
  "t cell",
  "b cell",
  "nk cell",
  "cd4 t cell",
  "cd8 t cell",
  "regulatory t cell",
  "plasma cell",
  "monocyte",
  "macrophage",
  "dendritic cell",
  "neutrophil",
  "eosinophil",
  "basophil",
  "mast cell",
  "platelet",
  "erythrocyte",
  "hepatocyte",
  "cholangiocyte",
  "podocyte",
  "epithelial cell",
  "endothelial cell",
  "fibroblast",
  "myofibroblast",
  "pericyte",
  "smooth muscle cell",
  "cardiomyocyte",
  "neuron",
  "astrocyte",
  "oligodendrocyte",
  "microglia",
  "keratinocyte",
  "melanocyte",
  "adipocyte",
  "osteoblast",
  "osteoclast",
  "chondrocyte",
  "stem cell",
  "progenitor cell",
  "goblet cell",
  "paneth cell",
  "enterocyte",
  "acinar cell",
  "beta cell",
  "alpha cell",
  "delta cell",
  "ductal cell",
  "club cell",
  "ciliated cell",
  "basal cell",
  "alveolar cell",
  "sertoli cell",
  "leydig cell",
  "granulosa cell",
  "trophoblast",
  "germ cell",
  "photoreceptor",
  "bipolar cell",
  "ganglion cell",
  "muller glia",
  "schwann cell",
];
export const KINDS = [
  "atlas",
  "profile",
  "screen",
  "survey",
  "map",
  "census",
  "study",
  "panel",
  "time course",
  "perturbation",
];
const ASSAYS = ["10x", "smartseq", "atac", "citeseq", "visium", "merfish"];
const SUFFIXES = [".h5ad", ".parquet", ".csv", ".zarr", ".tsv"];
/** Labels: 100, each file has one or two. */
export const N_LABELS = 100;

/** A small seeded PRNG (mulberry32): the same rows every run. */
const rng = seededRandom;

/** The id of generated file `i`: 20 characters, in insertion order. */
export function fileId(i: number): string {
  return `b${String(i).padStart(19, "0")}`;
}
/** The id of generated label `j`. */
export function labelId(j: number): string {
  return `L${String(j).padStart(7, "0")}`;
}

/** One chunk of generated rows: files, their search words and label links. */
export interface Chunk {
  files: Record<string, unknown>[];
  tokens: { kind: string; record_id: string; token: string; weight: number }[];
  links: { file_id: string; ulabel_id: string }[];
}

/** Rows `from` to `to` (exclusive). */
export function chunk(
  from: number,
  to: number,
  storageId: string,
  userId: string,
  t0: number,
): Chunk {
  const out: Chunk = { files: [], tokens: [], links: [] };
  for (let i = from; i < to; i++) {
    const r = rng(i + 1);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
    const tissue = pick(TISSUES);
    const cell = pick(CELL_TYPES);
    const suffix = pick(SUFFIXES);
    const name = `sample_${String(i).padStart(7, "0")}${suffix}`;
    const key = `proj${String(i % 50).padStart(2, "0")}/${tissue.replace(" ", "_")}/${
      pick(ASSAYS)
    }/${name}`;
    const description = `${cell} ${pick(KINDS)} of ${tissue}, donor ${Math.floor(r() * 500)}`;
    const at = new Date(t0 + i * 1000).toISOString();
    const row: SearchDoc = {
      id: fileId(i),
      name,
      suffix,
      size: Math.floor(r() * 1e9),
      hash: `h${String(i).padStart(21, "0")}`,
      hash_type: "md5",
      key,
      managed: 0,
      is_dir: suffix === ".zarr" ? 1 : 0,
      run_id: null,
      transform_id: null,
      transform_version: null,
      storage_id: storageId,
      created_at: at,
      updated_at: at,
      created_by_id: userId,
      description,
    };
    out.files.push(row);
    const ws = recordWords(SEARCH_FIELDS.file.map(([c, w]) => [row[c] as string, w]));
    for (const [token, weight] of ws) {
      out.tokens.push({ kind: "file", record_id: searchId("file", row), token, weight });
    }
    const a = Math.floor(r() * N_LABELS);
    out.links.push({ file_id: row.id, ulabel_id: labelId(a) });
    if (r() < 0.5) out.links.push({ file_id: row.id, ulabel_id: labelId((a + 1) % N_LABELS) });
  }
  return out;
}

/** The generated labels' rows and their search words. */
export function labels(userId: string, now: string): Chunk & { rows: Record<string, unknown>[] } {
  const rows = Array.from({ length: N_LABELS }, (_, j) => ({
    id: labelId(j),
    name: `label ${j} ${CELL_TYPES[j % CELL_TYPES.length]}`,
    description: `cells of ${TISSUES[j % TISSUES.length]}`,
    created_at: now,
    updated_at: now,
    created_by_id: userId,
  }));
  const tokens = rows.flatMap((row) =>
    [...recordWords(SEARCH_FIELDS.ulabel.map(([c, w]) => [row[c] as string, w]))].map((
      [token, weight],
    ) => ({ kind: "ulabel", record_id: row.id, token, weight }))
  );
  return { rows, files: [], tokens, links: [] };
}
