// The to-many relations of a File: runs that read it, feature sets, folders, labels.
import { linkManager, type RelatedManager } from "./_related.ts";
import { FEATURE_SETS } from "./features.ts";
import type { File } from "./file.ts";
import { type Folder, FOLDERS } from "./folder.ts";
import { type Run, RUNS } from "./run.ts";
import { type ULabel, ulabelsManager } from "./ulabel.ts";
import { type FeatureManager, valueMethods } from "./_file_values.ts";

/** The managers of `f` (inputOf, features: sets and values, folders, ulabels). */
export function managers(
  f: File,
): [RelatedManager<Run>, FeatureManager, RelatedManager<Folder>, RelatedManager<ULabel>] {
  const self = () => ({ id: f.id, inst: f._inst });
  return [
    linkManager("run_input", "file_id", self, "run_id", (inst, ids) => RUNS(inst).byIds(ids)),
    Object.assign(
      linkManager(
        "file_features",
        "file_id",
        self,
        "features_id",
        (inst, ids) => FEATURE_SETS(inst).byIds(ids),
      ),
      valueMethods(self),
    ),
    linkManager(
      "folder_file",
      "file_id",
      self,
      "folder_id",
      (inst, ids) => FOLDERS(inst).byIds(ids),
    ),
    ulabelsManager("file_ulabel", "file_id", self),
  ];
}
