import { findArgument, portArgument, sizeArgument, textArgument, yesNoArgument } from "./argument-values.js";
import type { Arguments } from "./command-parser.js";
import { diskSize, selectDisks, slotInUse } from "./disk-menu.js";
import { parentDirectories, poolFileName } from "./file-path.js";
import type { RdsModel } from "./rds-model.js";
import { failure, inputDoesNotMatch, invalidValue, missingArgument } from "./routeros-error.js";

/** RouterOS's default NVMe/TCP port. */
const DEFAULT_NVME_TCP_PORT = 4420;

/**
 * `/disk add type=file ...`: creates the backing file (sparse, `file-size` bytes) and the disk item
 * together. With `copy-from=[find ...]` the size defaults to the source's, and what is copied follows
 * the copyFrom setting: nothing (an empty file), the source's bytes, the source's bytes in the
 * background (the file grows after the command returned), or the source's bytes at the source's size
 * (`file-size` ignored). Every argument is checked before anything is created.
 */
export async function addDisk(args: Arguments, model: RdsModel): Promise<void> {
  const type = textArgument(args, "type");
  if (type !== undefined && type !== "file") throw inputDoesNotMatch("type");
  const slot = textArgument(args, "slot");
  const filePath = textArgument(args, "file-path");
  const requestedSize = sizeArgument(args, "file-size");
  const copyFrom = findArgument(args, "copy-from");
  const nvmeTcpExport = yesNoArgument(args, "nvme-tcp-export") ?? false;
  const nvmeTcpServerPort = portArgument(args, "nvme-tcp-server-port") ?? DEFAULT_NVME_TCP_PORT;
  const nvmeTcpServerNqn = textArgument(args, "nvme-tcp-server-nqn") ?? "";
  const nvmeTcpServerAllowHostName = textArgument(args, "nvme-tcp-server-allow-host-name") ?? "";
  const comment = textArgument(args, "comment") ?? "";
  if (type === undefined) throw missingArgument("type");
  if (slot === undefined) throw missingArgument("slot");
  if (filePath === undefined) throw missingArgument("file-path");
  if (slot === "") throw invalidValue("slot");
  const fileName = poolFileName(filePath, model.pool.name);
  const directories = parentDirectories(fileName);
  if (directories.some((directory) => model.files.get(directory)?.type === "file")) throw invalidValue("file-path");

  if (slotInUse(model, slot)) throw failure(`disk with slot ${slot} already exists`);
  if (model.files.get(fileName) !== undefined) throw failure("file already exists");
  let source: { readonly fileName: string; readonly size: number } | undefined;
  if (copyFrom !== undefined) {
    const [disk] = selectDisks(model, { kind: "find", conditions: copyFrom });
    if (disk === undefined) throw failure("no such item");
    source = { fileName: disk.filePath.slice(1), size: diskSize(model, disk) };
  }
  const size = requestedSize ?? (source === undefined ? undefined : BigInt(source.size));
  if (size === undefined) throw missingArgument("file-size");
  if (source !== undefined && size < BigInt(source.size)) throw failure("new size is smaller than current size");
  if (size > BigInt(model.pool.freeBytes())) throw failure("not enough space");

  const bytes = Number(size);
  const now = model.now().toISOString();
  for (const directory of directories) {
    if (model.files.get(directory) !== undefined) continue;
    await model.backing.ensureDirectory(directory);
    model.files.put({ name: directory, type: "directory", size: 0, lastModified: now });
  }
  const mode = source === undefined ? "settings-only" : model.settings().copyFrom;
  // What the new file holds at once: see CopyFromMode.
  let created = bytes;
  if (mode === "data") {
    await model.backing.copyData(source!.fileName, fileName, bytes);
  } else if (mode === "data-ignoring-size") {
    created = source!.size;
    await model.backing.copyData(source!.fileName, fileName, created);
  } else if (mode === "data-in-background") {
    created = 0;
    await model.backing.createEmpty(fileName, 0);
  } else {
    await model.backing.createEmpty(fileName, bytes);
  }
  model.files.put({ name: fileName, type: "file", size: created, lastModified: now });
  if (mode === "data-in-background") model.copyInBackground(source!.fileName, source!.size, fileName, bytes);
  model.disks.add({
    slot,
    filePath,
    comment,
    nvmeTcpExport,
    nvmeTcpServerPort,
    nvmeTcpServerNqn,
    nvmeTcpServerAllowHostName,
  });
}
