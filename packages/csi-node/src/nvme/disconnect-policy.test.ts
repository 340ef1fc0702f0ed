import { decideDisconnect, type DisconnectInputs } from "./disconnect-policy.js";

const NQN = "nqn.2000-02.com.mikrotik:pvc-1";
const base: DisconnectInputs = {
  volumeId: "pvc-1",
  nqn: NQN,
  managedPrefix: "nqn.2000-02.com.mikrotik:pvc-",
  device: { kind: "present", majorMinor: "7:3", devicePath: "/dev/nvme1n1" },
  mounts: [{ mountPoint: "/", majorMinor: "8:1", source: "/dev/sda1", boundDevice: null }],
  holders: [],
  exclusivelyOpened: false,
  stagedVolumes: [{ volumeId: "pvc-1", nqn: NQN }, { volumeId: "pvc-2", nqn: "nqn.2000-02.com.mikrotik:pvc-2" }],
};

describe("decideDisconnect", () => {
  it.each<[string, Partial<DisconnectInputs>, boolean, RegExp | undefined, boolean | undefined]>([
    ["last user, nothing mounted or held", {}, true, undefined, undefined],
    ["device already gone", { device: { kind: "absent" }, mounts: undefined, holders: undefined, exclusivelyOpened: undefined }, true, undefined, undefined],
    ["busy for an exclusive open (mounted in another mount namespace)", { exclusivelyOpened: true }, false, /busy for an exclusive open/, false],
    ["exclusive use unknown (device could not be opened)", { exclusivelyOpened: undefined }, false, /could not be opened/, true],
    ["foreign NQN (the host's own NVMe)", { nqn: "nqn.2014-08.org.nvmexpress:local-ssd" }, false, /managed prefix/, false],
    ["empty managed prefix never matches everything", { managedPrefix: "" }, false, /managed prefix/, false],
    ["still mounted (by major:minor)", { mounts: [{ mountPoint: "/var/lib/kubelet/x", majorMinor: "7:3", boundDevice: null }] }, false, /mounted at \/var\/lib\/kubelet\/x/, false],
    ["still mounted (by device path)", { mounts: [{ mountPoint: "/mnt", majorMinor: "0:99", source: "/dev/nvme1n1", boundDevice: null }] }, false, /mounted/, false],
    // A raw block target: mountinfo shows devtmpfs (0:5, root /nvme1n1), only stat() shows the device.
    ["its device node bind-mounted onto a file", { mounts: [{ mountPoint: "/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pv/u", majorMinor: "0:5", source: "devtmpfs", boundDevice: "7:3" }] }, false, /mounted at \/var\/lib\/kubelet\/plugins/, false],
    ["another device's node bind-mounted", { mounts: [{ mountPoint: "/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pv/u", majorMinor: "0:5", source: "devtmpfs", boundDevice: "7:9" }] }, true, undefined, undefined],
    ["a bind mount point that could not be stat'ed", { mounts: [{ mountPoint: "/mnt/nfs-file", majorMinor: "0:77", source: "nfs:/x", boundDevice: undefined }] }, false, /\/mnt\/nfs-file could not be stat'ed/, true],
    ["held by device-mapper", { holders: ["dm-0"] }, false, /held by dm-0/, false],
    ["another staged volume uses the subsystem", { stagedVolumes: [{ volumeId: "pvc-1", nqn: NQN }, { volumeId: "pvc-9", nqn: NQN }] }, false, /pvc-9/, false],
    ["mount table unreadable", { mounts: undefined }, false, /mount table/, true],
    ["holders unreadable", { holders: undefined }, false, /holders/, true],
    ["staged volumes unreadable", { stagedVolumes: undefined }, false, /staged volumes/, true],
    ["device unresolvable", { device: undefined }, false, /could not be resolved/, true],
    ["gone device, but another volume staged on it", { device: { kind: "absent" }, stagedVolumes: [{ volumeId: "pvc-9", nqn: NQN }] }, false, /pvc-9/, false],
  ])("%s", (_name, patch, expected, reason, unverifiable) => {
    const decision = decideDisconnect({ ...base, ...patch });
    expect(decision.disconnect).toBe(expected);
    if (!decision.disconnect) {
      expect(decision.reason).toMatch(reason!);
      expect(decision.unverifiable).toBe(unverifiable);
    }
  });
});
