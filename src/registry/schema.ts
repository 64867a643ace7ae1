/**
 * The registry's tables, as one typed kysely `Database`. Columns are
 * snake_case; timestamps are ISO 8601 strings in UTC (portable across
 * SQLite/libSQL and Postgres); booleans are 0/1 integers.
 *
 * @module
 */
import type { Generated } from "kysely";

/** `lamin_meta`: key/value facts about the instance (schema version, writer). */
export interface LaminMetaTable {
  key: string;
  value: string;
}

/** `user`: who creates records. */
export interface UserTable {
  id: string;
  handle: string;
  name: string | null;
  created_at: string;
  updated_at: string;
}

/** `storage`: storage roots (local folders, S3 prefixes). */
export interface StorageTable {
  id: string;
  root: string;
  type: string;
  region: string | null;
  created_at: string;
  updated_at: string;
  created_by_id: string;
}

/** `transform`: code that makes files (scripts, notebooks, pipelines), versioned. */
export interface TransformTable {
  id: string;
  version: string;
  name: string;
  short_name: string | null;
  type: string;
  reference: string | null;
  hash: string | null;
  created_at: string;
  updated_at: string;
  created_by_id: string;
  /** The script's text or the notebook's code cells, stored once per version (0005). */
  source_code: string | null;
  /** Free text (migration 0004). */
  description: string | null;
}

/** `run`: one execution of a transform. */
export interface RunTable {
  id: string;
  name: string | null;
  transform_id: string;
  transform_version: string;
  run_at: string;
  finished_at: string | null;
  status: string;
  reference: string | null;
  reference_type: string | null;
  created_at: string;
  created_by_id: string;
  /** The run's parameters as JSON text (an object), or null (0005). */
  params: string | null;
  /** When a report of the run was saved (none yet: always null) (0005). */
  reported_at: string | null;
  /** Free text (migration 0004). */
  description: string | null;
}

/** `run_param`: a run's top-level params, one row each, to filter runs by them. */
export interface RunParamTable {
  run_id: string;
  key: string;
  /** The value as canonical JSON (object keys sorted, no spaces). */
  value_json: string;
}

/** `file_value`: a feature value of a file (`file.features.addValues`), one per file and name. */
export interface FileValueTable {
  file_id: string;
  key: string;
  /** The value as canonical JSON (object keys sorted, no spaces). */
  value_json: string;
  /** The value when it is a number (for `gt`/`lt` filters), else null. */
  value_num: number | null;
}

/** `file`: one registered object (a file, or a folder-like store such as `.zarr`). */
export interface FileTable {
  id: string;
  name: string | null;
  suffix: string;
  size: number;
  hash: string;
  hash_type: string;
  key: string | null;
  /** 1 when lamindeno copied the object and owns it; 0 when registered in place. */
  managed: number;
  /** 1 for a folder-like object (all objects under `{key}/`). */
  is_dir: number;
  run_id: string | null;
  transform_id: string | null;
  transform_version: string | null;
  storage_id: string;
  created_at: string;
  updated_at: string;
  created_by_id: string;
  /** Free text (migration 0004). */
  description: string | null;
  /** A version label such as `"2"` or `"2024-06"` (migration 0006). */
  version: string | null;
  /** 1 for the newest version of its family (ids sharing their first 16 characters). */
  is_latest: Generated<number>;
  /**
   * 1 when the object is at `.lamindb/{id}{suffix}` although `key` is set:
   * an older version whose key's path went to a newer one.
   */
  key_is_virtual: Generated<number>;
}

/** `folder`: a named set of files. */
export interface FolderTable {
  id: string;
  name: string;
  key: string | null;
  storage_id: string;
  created_at: string;
  updated_at: string;
  created_by_id: string;
  /** Free text (migration 0004). */
  description: string | null;
}

/** `features`: a feature set, deduplicated by the hash of its sorted members. */
export interface FeaturesTable {
  id: string;
  type: string | null;
  hash: string;
  created_at: string;
  created_by_id: string;
}

/** `feature`: the members of a feature set, in sorted order. */
export interface FeatureTable {
  features_id: string;
  position: number;
  name: string;
  dtype: string | null;
}

/** `run_input`: files a run read. */
export interface RunInputTable {
  run_id: string;
  file_id: string;
}

/** `file_features`: feature sets of a file. */
export interface FileFeaturesTable {
  file_id: string;
  features_id: string;
}

/** `folder_file`: files of a folder. */
export interface FolderFileTable {
  folder_id: string;
  file_id: string;
}

/**
 * `pending_object`: an intent journal. A row is written before an object is
 * moved into place or deleted, and removed in the transaction that commits
 * the file row; `fsck` finishes or undoes what a crash interrupted.
 */
export interface PendingObjectTable {
  id: string;
  op: "save" | "replace" | "delete" | "move";
  storage_id: string;
  key: string;
  is_dir: number;
  file_id: string;
  hash: string | null;
  size: number | null;
  created_at: string;
}

/** `run_cell`: the cells a notebook run executed, in order (recorded by the kernel). */
export interface RunCellTable {
  run_id: string;
  /** Order of execution within the run, from 1. */
  seq: number;
  execution_count: number | null;
  code: string;
  /** `ok`, `error`, `aborted`, or `running` while it executes. */
  status: string;
  error_name: string | null;
  started_at: string;
  finished_at: string | null;
  cell_id: string | null;
}

/** `ulabel`: a label (lamindb's ULabel), unique by name. */
export interface UlabelTable {
  id: string;
  name: string;
  description: string | null;
  created_at: string;
  updated_at: string;
  created_by_id: string;
}

/** `ulabel_parent`: the label hierarchy (acyclic: a label is never its own ancestor). */
export interface UlabelParentTable {
  child_id: string;
  parent_id: string;
}

/** `file_ulabel`: labels of files. */
export interface FileUlabelTable {
  file_id: string;
  ulabel_id: string;
}

/** `run_ulabel`: labels of runs. */
export interface RunUlabelTable {
  run_id: string;
  ulabel_id: string;
}

/** `collection`: an ordered set of files, versioned like files (migration 0008). */
export interface CollectionTable {
  id: string;
  name: string;
  description: string | null;
  version: string | null;
  /** 1 for the newest version of its family (ids sharing their first 16 characters). */
  is_latest: Generated<number>;
  /** md5 (base64url) of the ordered member file ids: unique. */
  hash: string;
  run_id: string | null;
  transform_id: string | null;
  transform_version: string | null;
  created_at: string;
  updated_at: string;
  created_by_id: string;
}

/** `collection_file`: the files of a collection, at their positions (from 0). */
export interface CollectionFileTable {
  collection_id: string;
  file_id: string;
  position: number;
}

/** `collection_ulabel`: labels of collections. */
export interface CollectionUlabelTable {
  collection_id: string;
  ulabel_id: string;
}

/** `run_input_collection`: collections a run read. */
export interface RunInputCollectionTable {
  run_id: string;
  collection_id: string;
}

/**
 * `search_token`: the words of each searchable record (File, Transform,
 * ULabel), one row per (record, word), written with the record (0007).
 */
export interface SearchTokenTable {
  /** `"file"`, `"transform"` or `"ulabel"`. */
  kind: string;
  /** The record's id (a transform's is `{id}/{version}`). */
  record_id: string;
  /** A word: lower-cased letters and digits (NFKC), at most 64 characters. */
  token: string;
  /** The weight of the best field the word is in (name 3, key 2, description 1). */
  weight: number;
}

/** `search_word`: every word of `search_token`, once per kind (kept when its records go). */
export interface SearchWordTable {
  kind: string;
  token: string;
}

/** All tables. */
export interface Database {
  lamin_meta: LaminMetaTable;
  user: UserTable;
  storage: StorageTable;
  transform: TransformTable;
  run: RunTable;
  file: FileTable;
  folder: FolderTable;
  features: FeaturesTable;
  feature: FeatureTable;
  run_input: RunInputTable;
  file_features: FileFeaturesTable;
  folder_file: FolderFileTable;
  pending_object: PendingObjectTable;
  run_cell: RunCellTable;
  run_param: RunParamTable;
  file_value: FileValueTable;
  ulabel: UlabelTable;
  ulabel_parent: UlabelParentTable;
  file_ulabel: FileUlabelTable;
  run_ulabel: RunUlabelTable;
  collection: CollectionTable;
  collection_file: CollectionFileTable;
  collection_ulabel: CollectionUlabelTable;
  run_input_collection: RunInputCollectionTable;
  search_token: SearchTokenTable;
  search_word: SearchWordTable;
}
