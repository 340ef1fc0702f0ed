import type { Target } from "./command-parser.js";
import { refuseIfBusy, selectDisks } from "./disk-menu.js";
import type { RdsModel } from "./rds-model.js";

/** `/disk remove <target>`: removes the disk items only; their files stay until `/file remove`. */
export function removeDisks(target: Target, model: RdsModel): void {
  const disks = selectDisks(model, target);
  refuseIfBusy(model, disks);
  model.disks.remove(new Set(disks.map((disk) => disk.id)));
}
