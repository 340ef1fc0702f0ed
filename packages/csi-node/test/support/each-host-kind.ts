import { describeAsRoot, type BlockDevices } from "@rds-csi/testkit";

/**
 * Declares a suite twice: over the stand-ins (virtual disks, FakeMounter, VirtualDeviceNodes,
 * FakeResizer: runs without root) and, as root, over loop devices and real mounts. The same cases must
 * hold on both: what the stand-ins accept and refuse is checked against the kernel's answers.
 */
export function describeOnEachHostKind(title: string, body: (devices: BlockDevices) => void): void {
  describe(`${title} — virtual disks and FakeMounter (no root)`, () => body("virtual"));
  describeAsRoot(`${title} — loop devices and real mounts`, () => body("loop"));
}
