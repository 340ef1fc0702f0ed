import { portArgument, sizeArgument, textArgument, yesNoArgument } from "./argument-values.js";
import type { Arguments, Target } from "./command-parser.js";
import { diskSize, refuseIfBusy, selectDisks } from "./disk-menu.js";
import type { RdsModel } from "./rds-model.js";
import { failure } from "./routeros-error.js";

/**
 * `/disk set <target> ...`: changes every selected disk. A size can only grow (the file is extended,
 * sparse); all checks run before the first change, so a refused command changes nothing.
 */
export async function setDisks(target: Target, args: Arguments, model: RdsModel): Promise<void> {
  const size = sizeArgument(args, "file-size");
  const nvmeTcpExport = yesNoArgument(args, "nvme-tcp-export");
  const nvmeTcpServerPort = portArgument(args, "nvme-tcp-server-port");
  const nvmeTcpServerNqn = textArgument(args, "nvme-tcp-server-nqn");
  const nvmeTcpServerAllowHostName = textArgument(args, "nvme-tcp-server-allow-host-name");
  const comment = textArgument(args, "comment");
  const disks = selectDisks(model, target);

  if (size !== undefined) {
    refuseIfBusy(model, disks);
    let growth = 0n;
    for (const disk of disks) {
      const current = BigInt(diskSize(model, disk));
      if (size < current) throw failure("new size is smaller than current size");
      growth += size - current;
    }
    if (growth > BigInt(model.pool.freeBytes())) throw failure("not enough space");
  }

  const now = model.now().toISOString();
  for (const disk of disks) {
    const fileName = disk.filePath.slice(1);
    if (size !== undefined && Number(size) !== diskSize(model, disk)) {
      await model.backing.resize(fileName, Number(size));
      model.files.put({ name: fileName, type: "file", size: Number(size), lastModified: now });
    }
    model.disks.replace({
      ...disk,
      nvmeTcpExport: nvmeTcpExport ?? disk.nvmeTcpExport,
      nvmeTcpServerPort: nvmeTcpServerPort ?? disk.nvmeTcpServerPort,
      nvmeTcpServerNqn: nvmeTcpServerNqn ?? disk.nvmeTcpServerNqn,
      nvmeTcpServerAllowHostName: nvmeTcpServerAllowHostName ?? disk.nvmeTcpServerAllowHostName,
      comment: comment ?? disk.comment,
    });
  }
}
