import type { Target } from "./command-parser.js";
import { selectFiles } from "./file-menu.js";
import type { RdsModel } from "./rds-model.js";
import { failure } from "./routeros-error.js";

/**
 * `/file remove <target>`: deletes files and empty directories (a directory may go together with
 * everything in it when the target selects all of it). A file a disk item still uses is refused, so a
 * volume's bytes cannot vanish under a live disk.
 */
export async function removeFiles(target: Target, model: RdsModel): Promise<void> {
  const entries = selectFiles(model, target);
  const selected = new Set(entries.map((entry) => entry.name));
  for (const entry of entries) {
    if (entry.type === "file" && model.disks.byFileName(entry.name) !== undefined) throw failure("file is in use");
    const outside = (): boolean => model.files.withPrefix(`${entry.name}/`).some((other) => !selected.has(other.name));
    if (entry.type === "directory" && outside()) throw failure("directory is not empty");
  }
  // Deepest first, so a directory is empty by the time its turn comes.
  for (const entry of [...entries].sort((a, b) => b.name.length - a.name.length)) {
    if (entry.type === "file") await model.backing.removeFile(entry.name);
    else await model.backing.removeDirectory(entry.name);
    model.files.remove(entry.name);
  }
}
