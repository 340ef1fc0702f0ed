import type { Target } from "./command-parser.js";
import { selectDisks } from "./disk-menu.js";
import type { RdsModel } from "./rds-model.js";

/** `/disk remove <target>`: removes the disk items only; their files stay until `/file remove`. */
export function removeDisks(target: Target, model: RdsModel): void {
  model.disks.remove(new Set(selectDisks(model, target).map((disk) => disk.id)));
}
