// The registry contract on the embedded default: a libSQL file.
import * as ln from "../../mod.ts";
import { registryContract } from "./contract.ts";
import { versionsContract } from "./contract_versions.ts";
import { collectionsContract } from "./contract_collections.ts";

registryContract("libSQL registry", (storage) => ln.init({ storage }));
versionsContract("libSQL registry", (storage) => ln.init({ storage }));
collectionsContract("libSQL registry", (storage) => ln.init({ storage }));
