import { InvalidArgumentError } from "../errors.js";
import { checkMountOptions, mountOptionProblem } from "./mount-options.js";

describe("mount options", () => {
  it.each([
    ["ext4", "noatime"], ["ext4", "errors=remount-ro"], ["ext4", "barrier"], ["ext4", "barrier=0"], ["ext4", "commit=30"], ["ext4", "init_itable"], ["ext4", "init_itable=10"],
    ["ext3", "data=journal"], ["xfs", "nouuid"], ["xfs", "logbsize=256k"], ["xfs", "allocsize=64m"], ["xfs", "dax"], ["xfs", "dax=inode"], ["xfs", "nodev"],
  ] as const)("accepts %s %s", (fsType, option) => {
    expect(mountOptionProblem(fsType, option)).toBeUndefined();
  });

  it.each([
    ["ext4", "fooo", "it is not a known ext4 mount option (see docs/mount-options.md)"],
    ["ext4", "nouuid", "it is not a known ext4 mount option (see docs/mount-options.md)"],
    ["xfs", "data=journal", "it is not a known xfs mount option (see docs/mount-options.md)"],
    ["ext4", "errors=panic", "its value must be one of continue, remount-ro"],
    ["ext4", "commit", "it needs a value"],
    ["ext4", "noatime=1", "it takes no value"],
    ["ext4", "commit=-1", "its value must be a whole number"],
    ["xfs", "allocsize=big", "its value must be a size such as 64k"],
    ["xfs", "logbufs=9", "its value must be one of 2, 3, 4, 5, 6, 7, 8"],
    ["ext4", "ro", "it is not accepted: read-only access is the volume's (PV readOnly, publish readonly), not a mount option of the staging mount"],
    ["xfs", "logdev=/dev/sda", "it is not accepted: it names another device"],
    ["ext4", "x-systemd.automount", "userspace (x-) options are for fstab"],
    ["ext4", "noatime,nodev", "each mount flag is one option, without commas, whitespace or NUL"],
    ["ext4", "", "each mount flag is one option, without commas, whitespace or NUL"],
  ] as const)("refuses %s %j: %s", (fsType, option, problem) => {
    expect(mountOptionProblem(fsType, option)).toBe(problem);
  });

  it("names the field, position and option, quoting at most a short prefix of a long one", () => {
    expect(() => checkMountOptions({ fsType: "ext4", flags: ["noatime", "bogus"], policy: "allow", field: "f" })).toThrow(
      new InvalidArgumentError('f[1]: mount option "bogus" for ext4: it is not a known ext4 mount option (see docs/mount-options.md)'),
    );
    expect(() => checkMountOptions({ fsType: "ext4", flags: [`x${"a".repeat(10_000)}`], policy: "allow", field: "f" })).toThrow(/^f\[0\]: mount option "xa{63}…" for ext4/);
  });

  it("refuses every option under mountOptionsPolicy=forbid, and none when there are none", () => {
    expect(() => checkMountOptions({ fsType: "xfs", flags: ["noatime"], policy: "forbid", field: "f" })).toThrow(
      'f[0]: mount option "noatime" is refused: this StorageClass forbids mount options (mountOptionsPolicy=forbid)',
    );
    expect(() => checkMountOptions({ fsType: "xfs", flags: [], policy: "forbid", field: "f" })).not.toThrow();
  });
});
