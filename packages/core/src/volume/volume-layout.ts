import { InvalidArgumentError } from "../errors.js";
import { isNqnPrefix } from "../nvme/nqn.js";

/** Slot prefixes of what the driver owns; the earlier Go driver used the same ones, so its disks stay ours. */
export const VOLUME_SLOT_PREFIX = "pvc-";
export const SNAPSHOT_SLOT_PREFIX = "snap-";

/**
 * Where a volume lives on the RDS and how it is exported: `<basePath>/<id>.img`, NQN `<nqnPrefix>:<id>`.
 * The one place these names are derived, so the controller, the reconciler's audit and the node agree.
 */
export class VolumeLayout {
  readonly basePath: string;
  readonly nqnPrefix: string;

  constructor(options: { basePath: string; nqnPrefix: string }) {
    if (!/^(\/[A-Za-z0-9._-]+)+$/.test(options.basePath) || /\/\.{1,2}(\/|$)/.test(options.basePath)) {
      throw new InvalidArgumentError(`base path "${options.basePath}" must be an absolute path like /raid10/csi, without trailing slash`);
    }
    if (!isNqnPrefix(options.nqnPrefix)) {
      throw new InvalidArgumentError(`NQN prefix "${options.nqnPrefix}" must look like nqn.2000-02.com.mikrotik`);
    }
    this.basePath = options.basePath;
    this.nqnPrefix = options.nqnPrefix;
  }

  /** The RouterOS pool (mount point) holding the base path: its first component. */
  get pool(): string {
    return this.basePath.split("/")[1]!;
  }

  filePath(id: string): string {
    return `${this.basePath}/${id}.img`;
  }

  nqn(id: string): string {
    return `${this.nqnPrefix}:${id}`;
  }

  /** True only for a file directly in the base path: `/raid10/csi-other/x.img` is not under `/raid10/csi`. */
  holdsFile(path: string | undefined): boolean {
    return path !== undefined && path.startsWith(`${this.basePath}/`) && !path.slice(this.basePath.length + 1).includes("/");
  }
}
