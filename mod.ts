/**
 * # lamindeno
 *
 * A Deno-first data layer for biology, after Python's lamindb: every data
 * file is a {@linkcode File} record in a registry (who made it, from which
 * {@linkcode Run} of which {@linkcode Transform}, which runs read it),
 * stored on local disk, loaded back into memory.
 *
 * @example Register a file and find it again
 * ```ts
 * import * as ln from "@lamindeno/lamindb";
 *
 * const dir = await Deno.makeTempDir();
 * await ln.init({ storage: dir });
 * const file = await new ln.File(new TextEncoder().encode("hello"), { key: "hello.txt" }).save();
 * const same = await ln.File.get({ key: "hello.txt" });
 * console.assert(same.hash === file.hash);
 * await ln.close();
 * ```
 *
 * @example The same under Node (20 and later) or Bun, with node: built-ins
 * ```ts
 * import { mkdtemp } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import * as ln from "@lamindeno/lamindb";
 *
 * await ln.init({ storage: await mkdtemp(join(tmpdir(), "lamin-")) });
 * await new ln.File(new TextEncoder().encode("hello"), { key: "hello.txt" }).save();
 * console.assert((await ln.File.filter({ suffix: ".txt" })).length === 1);
 * await ln.close();
 * ```
 *
 * @module
 */

export * from "./src/errors.ts";
export {
  close,
  connect,
  init,
  type InitOptions,
  InitOptionsSchema,
  type RegistryDialect,
} from "./src/init.ts";
export { type Settings, settings } from "./src/settings.ts";
export type { Verbosity } from "./src/_log.ts";
export type { OnProgress, Progress, ProgressPhase } from "./src/storage/_progress.ts";
export * from "./src/save.ts";
export * from "./src/fsck.ts";
export {
  Artifact,
  type DeleteOptions,
  File,
  type FileData,
  type FileOptions,
  type ReplaceOptions,
  type StreamOptions,
} from "./src/registry/file.ts";
export {
  type BackedOptions,
  BackedOptionsSchema,
  type BatchOptions,
  BatchOptionsSchema,
  FileOptionsSchema,
  type SaveOptions,
  type StageOptions,
  StreamOptionsSchema,
} from "./src/registry/file_schemas.ts";
export { Folder, type FolderOptions } from "./src/registry/folder.ts";
export {
  type JsonValue,
  Run,
  type RunCell,
  type RunOptions,
  type RunParams,
} from "./src/registry/run.ts";
export { Transform, type TransformOptions } from "./src/registry/transform.ts";
export { Storage } from "./src/registry/storage_record.ts";
export { User } from "./src/registry/user.ts";
export { type Feature, Features } from "./src/registry/features.ts";
export type { FeatureManager, FeatureValues } from "./src/registry/_file_values.ts";
export { ULabel, type ULabelOptions } from "./src/registry/ulabel.ts";
export { Description } from "./src/registry/description.ts";
export { view, type ViewOptions } from "./src/registry/view.ts";
export { Lineage } from "./src/registry/lineage.ts";
export {
  type DfOptions,
  type Queries,
  Query,
  type QueryOptions,
  type RelatedManager,
  type Where,
  WhereSchema,
} from "./src/registry/_model.ts";
export type { SearchOptions } from "./src/registry/_search.ts";
export { Instance, type InstanceSettings, type RegistryLocation } from "./src/registry/instance.ts";
export type { LoadAs, LoadOptions, LoadResult, LoadTypes } from "./src/formats/load.ts";
export type { DataFrame } from "./src/formats/tables.ts";
export type { ArrowTable } from "./src/formats/arrow.ts";
export type { ZarrArray } from "./src/formats/tensor.ts";
export {
  Column,
  type CompareOp,
  Expression,
  type ExprNode,
  type Scalar,
} from "./src/query/expr.ts";
export { LazyDataFrame, type LazyDataFrameMembers } from "./src/query/lazy_frame.ts";
export { BackedAnnData, BackedMatrix } from "./src/query/backed.ts";
export type { Projection } from "./src/query/projection.ts";
export type { LazyFrame } from "./src/query/scan.ts";
export { type ImageArray, type ImageFormat, readImage, writeImage } from "./src/formats/image.ts";
export * from "./src/track/context.ts";
export { finish, track, type TrackOptions, TrackOptionsSchema } from "./src/track/track.ts";
export {
  AnnData,
  type AnnDataOptions,
  type Categoricals,
  type CategoryInfo,
  type RawData,
} from "./src/formats/anndata/anndata.ts";
export {
  CscMatrix,
  CsrMatrix,
  DenseMatrix,
  type Dtype,
  type Matrix,
  type NumericArray,
} from "./src/formats/anndata/matrix.ts";
export { readH5ad } from "./src/formats/anndata/read_h5ad.ts";
export { readZarr } from "./src/formats/anndata/read_zarr.ts";
export { MuData, readH5mu, writeH5mu } from "./src/formats/anndata/mudata.ts";
export { writeZarr, type WriteZarrOptions } from "./src/formats/anndata/write_zarr.ts";
export { writeH5ad, type WriteH5adOptions } from "./src/formats/anndata/write_h5ad.ts";
export * from "./src/storage/storage.ts";
export { LocalStorage } from "./src/storage/local.ts";
export { parseS3Uri, type S3Options, S3OptionsSchema, S3Storage } from "./src/storage/s3.ts";
export { LazySchema, type SafeParseResult, type ZodSchema } from "./src/storage/_validate.ts";
export { type HttpOptions, HttpStorage } from "./src/storage/http.ts";
export * from "./src/storage/counting.ts";
export * from "./src/storage/cost_model.ts";
export { objectKey, suffixOf, validateKey } from "./src/storage/key.ts";
export { hashBytes, hashDirectory, type HashResult } from "./src/storage/hash.ts";
export {
  type Batch,
  Collection,
  type CollectionAppendOptions,
  type CollectionCacheOptions,
  type CollectionLoadOptions,
  type CollectionOpenOptions,
  type CollectionOptions,
  type CollectionStreamOptions,
  type MappedOptions,
} from "./src/registry/collection.ts";
export { concatAnnData, type ConcatOptions, type Join } from "./src/formats/anndata/concat.ts";
