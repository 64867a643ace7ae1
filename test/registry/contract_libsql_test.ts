// The registry contract on the embedded default: a libSQL file.
import * as ln from "../../mod.ts";
import { registryContract } from "./contract.ts";

registryContract("libSQL registry", (storage) => ln.init({ storage }));
