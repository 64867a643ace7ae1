import { type Kysely, type Migration, type MigrationProvider, PostgresAdapter, sql } from "kysely";
import { backfillSearch } from "./_search_index.ts";
import { crashPoint } from "../_faults.ts";

// Ordered, named, in-code migrations. Never edit a released migration; add one.
// deno-lint-ignore no-explicit-any
type AnyDb = Kysely<any>;

export const MIGRATIONS: Record<string, Migration> = {
  "0001_initial": {
    async up(db: AnyDb) {
      await db.schema.createTable("lamin_meta")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .execute();
      crashPoint("migrate:mid"); // a table made, the migration not done (fault tests)
      await db.schema.createTable("user")
        .addColumn("id", "varchar(8)", (c) => c.primaryKey())
        .addColumn("handle", "text", (c) => c.notNull().unique())
        .addColumn("name", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .execute();
      await db.schema.createTable("storage")
        .addColumn("id", "varchar(12)", (c) => c.primaryKey())
        .addColumn("root", "text", (c) => c.notNull().unique())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("region", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("created_by_id", "varchar(8)", (c) => c.notNull().references("user.id"))
        .execute();
      await db.schema.createTable("transform")
        .addColumn("id", "varchar(12)", (c) => c.notNull())
        .addColumn("version", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("short_name", "text")
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("reference", "text")
        .addColumn("hash", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("created_by_id", "varchar(8)", (c) => c.notNull().references("user.id"))
        .addPrimaryKeyConstraint("transform_pk", ["id", "version"])
        .execute();
      await db.schema.createTable("run")
        .addColumn("id", "varchar(20)", (c) => c.primaryKey())
        .addColumn("name", "text")
        .addColumn("transform_id", "varchar(12)", (c) => c.notNull())
        .addColumn("transform_version", "text", (c) => c.notNull())
        .addColumn("run_at", "text", (c) => c.notNull())
        .addColumn("finished_at", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("reference", "text")
        .addColumn("reference_type", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("created_by_id", "varchar(8)", (c) => c.notNull().references("user.id"))
        .addForeignKeyConstraint(
          "run_transform_fk",
          ["transform_id", "transform_version"],
          "transform",
          ["id", "version"],
        )
        .execute();
      await db.schema.createTable("file")
        .addColumn("id", "varchar(20)", (c) => c.primaryKey())
        .addColumn("name", "text")
        .addColumn("suffix", "text", (c) => c.notNull())
        .addColumn("size", "bigint", (c) => c.notNull())
        .addColumn("hash", "text", (c) => c.notNull())
        .addColumn("hash_type", "text", (c) => c.notNull())
        .addColumn("key", "text")
        .addColumn("managed", "integer", (c) => c.notNull())
        .addColumn("is_dir", "integer", (c) => c.notNull())
        .addColumn("run_id", "varchar(20)", (c) => c.references("run.id"))
        .addColumn("transform_id", "varchar(12)")
        .addColumn("transform_version", "text")
        .addColumn("storage_id", "varchar(12)", (c) => c.notNull().references("storage.id"))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("created_by_id", "varchar(8)", (c) => c.notNull().references("user.id"))
        .execute();
      await db.schema.createIndex("file_hash_unique").on("file").column("hash").unique().execute();
      await db.schema.createIndex("file_storage_key_unique").on("file")
        .columns(["storage_id", "key"]).unique().execute();
      await db.schema.createIndex("file_suffix_idx").on("file").column("suffix").execute();
      await db.schema.createIndex("file_run_idx").on("file").column("run_id").execute();
      await db.schema.createTable("folder")
        .addColumn("id", "varchar(20)", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("key", "text")
        .addColumn("storage_id", "varchar(12)", (c) => c.notNull().references("storage.id"))
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("created_by_id", "varchar(8)", (c) => c.notNull().references("user.id"))
        .execute();
      await db.schema.createTable("features")
        .addColumn("id", "varchar(20)", (c) => c.primaryKey())
        .addColumn("type", "text")
        .addColumn("hash", "text", (c) => c.notNull().unique())
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("created_by_id", "varchar(8)", (c) => c.notNull().references("user.id"))
        .execute();
      const link = async (table: string, a: [string, string], b: [string, string]) => {
        await db.schema.createTable(table)
          .addColumn(a[0], "varchar(20)", (c) => c.notNull().references(a[1]))
          .addColumn(b[0], "varchar(20)", (c) => c.notNull().references(b[1]))
          .addPrimaryKeyConstraint(`${table}_pk`, [a[0], b[0]] as never)
          .execute();
        await db.schema.createIndex(`${table}_${b[0]}_idx`).on(table).column(b[0]).execute();
      };
      await link("run_input", ["run_id", "run.id"], ["file_id", "file.id"]);
      await link("file_features", ["file_id", "file.id"], ["features_id", "features.id"]);
      await link("folder_file", ["folder_id", "folder.id"], ["file_id", "file.id"]);
      await db.schema.createTable("pending_object")
        .addColumn("id", "varchar(20)", (c) => c.primaryKey())
        .addColumn("op", "text", (c) => c.notNull())
        .addColumn("storage_id", "varchar(12)", (c) => c.notNull())
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("is_dir", "integer", (c) => c.notNull())
        .addColumn("file_id", "varchar(20)", (c) => c.notNull())
        .addColumn("hash", "text")
        .addColumn("size", "bigint")
        .addColumn("created_at", "text", (c) => c.notNull())
        .execute();
    },
  },
  "0002_feature_members": {
    async up(db: AnyDb) {
      await db.schema.createTable("feature")
        .addColumn("features_id", "varchar(20)", (c) => c.notNull().references("features.id"))
        .addColumn("position", "integer", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("dtype", "text")
        .addPrimaryKeyConstraint("feature_pk", ["features_id", "position"] as never)
        .execute();
    },
  },
  "0003_run_cell": {
    async up(db: AnyDb) {
      await db.schema.createTable("run_cell")
        .addColumn("run_id", "varchar(20)", (c) => c.notNull().references("run.id"))
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("execution_count", "integer")
        .addColumn("code", "text", (c) => c.notNull())
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("error_name", "text")
        .addColumn("started_at", "text", (c) => c.notNull())
        .addColumn("finished_at", "text")
        .addColumn("cell_id", "text")
        .addPrimaryKeyConstraint("run_cell_pk", ["run_id", "seq"] as never)
        .execute();
    },
  },
  "0005_run_params_source": {
    async up(db: AnyDb) {
      // One column per ALTER: SQLite adds one at a time.
      await db.schema.alterTable("run").addColumn("params", "text").execute();
      await db.schema.alterTable("run").addColumn("reported_at", "text").execute();
      await db.schema.alterTable("transform").addColumn("source_code", "text").execute();
      // Top-level params, one row each, for filtering without JSON functions
      // (the same query on libSQL and PostgreSQL).
      await db.schema.createTable("run_param")
        .addColumn("run_id", "varchar(20)", (c) => c.notNull().references("run.id"))
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value_json", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("run_param_pk", ["run_id", "key"] as never)
        .execute();
      // Values can be long (PostgreSQL's btree refuses entries over ~2.7 kB): index the key.
      await db.schema.createIndex("run_param_key_idx").on("run_param").column("key").execute();
    },
  },
  "0006_versions": {
    async up(db: AnyDb) {
      // One column per ALTER: SQLite adds one at a time.
      await db.schema.alterTable("file").addColumn("version", "text").execute();
      await db.schema.alterTable("file")
        .addColumn("is_latest", "integer", (c) => c.notNull().defaultTo(1)).execute();
      await db.schema.alterTable("file")
        .addColumn("key_is_virtual", "integer", (c) => c.notNull().defaultTo(0)).execute();
      // Versions share a key: the key is unique among latest versions only.
      await db.schema.dropIndex("file_storage_key_unique").execute();
      await db.schema.createIndex("file_storage_key_latest_unique").on("file")
        .columns(["storage_id", "key"]).unique().where(sql<boolean>`is_latest = 1`).execute();
      // A version family is the ids sharing their first 16 characters.
      await db.schema.createIndex("file_family_idx").on("file")
        .expression(sql`substr(id, 1, 16)`).execute();
    },
  },
  "0004_labels_descriptions": {
    async up(db: AnyDb) {
      for (const table of ["file", "transform", "run", "folder"]) {
        await db.schema.alterTable(table).addColumn("description", "text").execute();
      }
      await db.schema.createTable("ulabel")
        .addColumn("id", "varchar(8)", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("description", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("created_by_id", "varchar(8)", (c) => c.notNull().references("user.id"))
        .execute();
      const link = async (
        table: string,
        a: [string, string, "varchar(8)" | "varchar(20)"],
        b: [string, string],
      ) => {
        await db.schema.createTable(table)
          .addColumn(a[0], a[2], (c) => c.notNull().references(a[1]))
          .addColumn(b[0], "varchar(8)", (c) => c.notNull().references(b[1]))
          .addPrimaryKeyConstraint(`${table}_pk`, [a[0], b[0]] as never)
          .execute();
        await db.schema.createIndex(`${table}_${b[0]}_idx`).on(table).column(b[0]).execute();
      };
      await link("ulabel_parent", ["child_id", "ulabel.id", "varchar(8)"], [
        "parent_id",
        "ulabel.id",
      ]);
      await link("file_ulabel", ["file_id", "file.id", "varchar(20)"], ["ulabel_id", "ulabel.id"]);
      await link("run_ulabel", ["run_id", "run.id", "varchar(20)"], ["ulabel_id", "ulabel.id"]);
    },
  },
  "0008_collections": {
    async up(db: AnyDb) {
      await db.schema.createTable("collection")
        .addColumn("id", "varchar(20)", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("description", "text")
        .addColumn("version", "text")
        .addColumn("is_latest", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("hash", "text", (c) => c.notNull())
        .addColumn("run_id", "varchar(20)", (c) => c.references("run.id"))
        .addColumn("transform_id", "varchar(12)")
        .addColumn("transform_version", "text")
        .addColumn("created_at", "text", (c) => c.notNull())
        .addColumn("updated_at", "text", (c) => c.notNull())
        .addColumn("created_by_id", "varchar(8)", (c) => c.notNull().references("user.id"))
        .execute();
      // The same files in the same order are the same collection.
      await db.schema.createIndex("collection_hash_unique").on("collection").column("hash")
        .unique().execute();
      // A name is the latest version of one collection; older versions share it.
      await db.schema.createIndex("collection_name_latest_unique").on("collection")
        .column("name").unique().where(sql<boolean>`is_latest = 1`).execute();
      await db.schema.createIndex("collection_family_idx").on("collection")
        .expression(sql`substr(id, 1, 16)`).execute();
      await db.schema.createTable("collection_file")
        .addColumn("collection_id", "varchar(20)", (c) => c.notNull().references("collection.id"))
        .addColumn("file_id", "varchar(20)", (c) => c.notNull().references("file.id"))
        .addColumn("position", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("collection_file_pk", ["collection_id", "file_id"] as never)
        .execute();
      await db.schema.createIndex("collection_file_file_id_idx").on("collection_file")
        .column("file_id").execute();
      const link = async (table: string, b: [string, string, string]) => {
        await db.schema.createTable(table)
          .addColumn(b[0], b[2] as "varchar(20)", (c) => c.notNull().references(b[1]))
          .addColumn("collection_id", "varchar(20)", (c) => c.notNull().references("collection.id"))
          .addPrimaryKeyConstraint(`${table}_pk`, ["collection_id", b[0]] as never)
          .execute();
        await db.schema.createIndex(`${table}_${b[0]}_idx`).on(table).column(b[0]).execute();
      };
      await link("collection_ulabel", ["ulabel_id", "ulabel.id", "varchar(8)"]);
      await link("run_input_collection", ["run_id", "run.id", "varchar(20)"]);
    },
  },
  "0007_search": {
    async up(db: AnyDb) {
      const pg = db.getExecutor().adapter instanceof PostgresAdapter;
      // Words compare by code point on both databases (SQLite's BINARY, PostgreSQL's "C"),
      // so a prefix is an index range with the same meaning on both.
      const token = pg ? sql`text collate "C"` : sql`text`;
      let t = db.schema.createTable("search_token")
        .addColumn("kind", "varchar(12)", (c) => c.notNull())
        .addColumn("record_id", token, (c) => c.notNull())
        .addColumn("token", token, (c) => c.notNull())
        .addColumn("weight", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("search_token_pk", ["kind", "record_id", "token"] as never);
      if (!pg) t = t.modifyEnd(sql`without rowid`);
      await t.execute();
      await db.schema.createIndex("search_token_word_idx").on("search_token")
        .columns(["kind", "token", "record_id", "weight"]).execute();
      // The words in use, once each: prefixes and typos are looked up here, not in the postings.
      let w = db.schema.createTable("search_word")
        .addColumn("kind", "varchar(12)", (c) => c.notNull())
        .addColumn("token", token, (c) => c.notNull())
        .addPrimaryKeyConstraint("search_word_pk", ["kind", "token"] as never);
      if (!pg) w = w.modifyEnd(sql`without rowid`);
      await w.execute();
      // Keys compare by code point on PostgreSQL too (as on SQLite): `startsWith`
      // becomes an index range, and ordering by key is the same on both databases.
      if (pg) await sql`alter table file alter column key type text collate "C"`.execute(db);
      await db.schema.createIndex("file_key_idx").on("file").column("key").execute();
      await db.schema.createIndex("file_size_idx").on("file").column("size").execute();
      await db.schema.createIndex("file_created_at_idx").on("file").column("created_at").execute();
      // Files of a label without visiting the link table's rows.
      await db.schema.createIndex("file_ulabel_label_file_idx").on("file_ulabel")
        .columns(["ulabel_id", "file_id"]).execute();
      await backfillSearch(db);
    },
  },
  "0009_search_by_weight": {
    async up(db: AnyDb) {
      // A word's postings of one weight in record order: search reads each word's best-scoring
      // postings first and stops early (_search_topk.ts). The primary key
      // (kind, record_id, token) still looks words up per record.
      await db.schema.dropIndex("search_token_word_idx").execute();
      await db.schema.createIndex("search_token_weight_idx").on("search_token")
        .columns(["kind", "token", "weight", "record_id"]).execute();
    },
  },
  "0010_collection_search": {
    async up(db: AnyDb) {
      // Collections are searched like files (name, description; latest versions).
      await backfillSearch(db, ["collection"]);
    },
  },
  "0011_search_docs": {
    async up(db: AnyDb) {
      // PostgreSQL only: each indexed record's words as one array, GIN-indexed, so the records
      // having all of a search's words are found by intersecting compressed posting lists
      // (_search_intersect.ts) instead of reading and hashing each word's postings.
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      await sql`create table search_doc (kind varchar(12) not null,
        record_id text collate "C" not null, tokens text[] not null,
        constraint search_doc_pk primary key (kind, record_id))`.execute(db);
      await sql`insert into search_doc (kind, record_id, tokens)
        select kind, record_id, array_agg(token) from search_token
        group by kind, record_id`.execute(db);
      await sql`create index search_doc_tokens_idx on search_doc using gin (tokens)`.execute(db);
    },
  },
  "0012_file_key_latest": {
    async up(db: AnyDb) {
      // Keys with the version flag and the date: `filter({ key: { startsWith } }).df()`
      // (newest first) picks its latest versions and orders them from the index alone instead
      // of reading every row under the prefix (SQLite, 20,000 keys under a prefix of 1M
      // files: 74 ms -> 14 ms). Plain key lookups and ranges use it as they used file_key_idx.
      await db.schema.dropIndex("file_key_idx").execute();
      await db.schema.createIndex("file_key_latest_idx").on("file")
        .columns(["key", "is_latest", "created_at"]).execute();
    },
  },
  "0013_file_values": {
    async up(db: AnyDb) {
      // Feature values of files (file.features.addValues): one row per file and name.
      await db.schema.createTable("file_value")
        .addColumn("file_id", "varchar(20)", (c) => c.notNull().references("file.id"))
        .addColumn("key", "text", (c) => c.notNull())
        .addColumn("value_json", "text", (c) => c.notNull())
        .addColumn("value_num", "double precision")
        .addPrimaryKeyConstraint("file_value_pk", ["file_id", "key"] as never)
        .execute();
      // Values can be long (PostgreSQL's btree refuses entries over ~2.7 kB): numbers only.
      await db.schema.createIndex("file_value_key_num_idx").on("file_value")
        .columns(["key", "value_num"]).execute();
    },
  },
  "0014_ids_by_code_point": {
    async up(db: AnyDb) {
      // Queries order ids by code point on PostgreSQL (`id collate "C"`, as SQLite's
      // BINARY): an index in that order, so `orderBy("id")` with a limit (and `last()`)
      // walks it instead of sorting the table. SQLite's primary key is in that order.
      if (!(db.getExecutor().adapter instanceof PostgresAdapter)) return;
      for (const table of ["file", "collection"]) {
        await sql`create index ${sql.id(`${table}_id_c_idx`)} on ${
          sql.table(table)
        } (id collate "C")`
          .execute(db);
      }
    },
  },
};

/** Serves {@linkcode MIGRATIONS} to kysely's `Migrator`. */
export const migrationProvider: MigrationProvider = {
  getMigrations: () => Promise.resolve(MIGRATIONS),
};
