// The registry contract on the embedded default: a libSQL file.
import * as ln from "../../mod.ts";
import { Kysely } from "kysely";
import { libsqlDialect } from "../../src/registry/libsql.ts";
import { registryContract } from "./contract.ts";
import { versionsContract } from "./contract_versions.ts";
import { collectionsContract } from "./contract_collections.ts";
import { searchContract } from "./search_contract.ts";
import { searchRecordsContract } from "./search_records_contract.ts";

registryContract("libSQL registry", (storage) => ln.init({ storage }));
versionsContract("libSQL registry", (storage) => ln.init({ storage }));
collectionsContract("libSQL registry", (storage) => ln.init({ storage }));
searchContract("libSQL registry", (storage) => ln.init({ storage }), {
  oldRegistry: async (storage) => {
    await Deno.mkdir(`${storage}/.lamindb`, { recursive: true });
    return new Kysely({ dialect: await libsqlDialect(`${storage}/.lamindb/lamin.db`) });
  },
});
searchRecordsContract("libSQL registry", (storage) => ln.init({ storage }), {
  oldRegistry: async (storage) => {
    await Deno.mkdir(`${storage}/.lamindb`, { recursive: true });
    return new Kysely({ dialect: await libsqlDialect(`${storage}/.lamindb/lamin.db`) });
  },
});
