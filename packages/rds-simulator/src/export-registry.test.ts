import { ExportConnectionRefused, ExportRegistry, parseAllowedHosts, type ConnectionDropped, type NvmeExport } from "./export-registry.js";

const NQN = "nqn.2000-02.com.mikrotik:pvc-1";
const HOST_A = "nqn.2014-08.org.nvmexpress:uuid:a";
const HOST_B = "nqn.2014-08.org.nvmexpress:uuid:b";

function volume(allowedHosts: readonly string[] = [], changes: Partial<NvmeExport> = {}): NvmeExport {
  return { slot: "pvc-1", nqn: NQN, port: 4420, allowedHosts, backingFile: "/state/files/raid10/pvc-1.img", ...changes };
}

function registry(mode: "ignored" | "enforce-new" | "enforce-and-drop", exports: NvmeExport[]) {
  const exportRegistry = new ExportRegistry(mode);
  exportRegistry.update(exports);
  const dropped: ConnectionDropped[] = [];
  exportRegistry.onConnectionDropped((event) => dropped.push(event));
  return { exportRegistry, dropped };
}

function refusal(action: () => void): string | undefined {
  try {
    action();
  } catch (err) {
    if (err instanceof ExportConnectionRefused) return err.reason;
    throw err;
  }
  return undefined;
}

describe("ExportRegistry", () => {
  it("tracks connections per export; connecting twice or disconnecting a stranger changes nothing", () => {
    const { exportRegistry } = registry("ignored", [volume()]);
    exportRegistry.connect(NQN, HOST_B);
    exportRegistry.connect(NQN, HOST_A);
    exportRegistry.connect(NQN, HOST_A);
    exportRegistry.disconnect(NQN, "nqn.other");
    expect(exportRegistry.connections(NQN)).toEqual([HOST_A, HOST_B]);
    expect(exportRegistry.list()).toEqual([{ ...volume(), connections: [HOST_A, HOST_B] }]);
    exportRegistry.disconnect(NQN, HOST_A);
    exportRegistry.disconnect(NQN, HOST_B);
    expect(exportRegistry.connections(NQN)).toEqual([]);
  });

  it("refuses a connection to an NQN that is not exported", () => {
    const { exportRegistry } = registry("ignored", []);
    expect(refusal(() => exportRegistry.connect(NQN, HOST_A))).toBe("no-such-export");
  });

  it("ignored: lets any host connect whatever the allow list says", () => {
    const { exportRegistry } = registry("ignored", [volume([HOST_A])]);
    exportRegistry.connect(NQN, HOST_B);
    expect(exportRegistry.connections(NQN)).toEqual([HOST_B]);
  });

  it("enforce-new: refuses hosts not allowed, keeps live connections when the list changes", () => {
    const { exportRegistry, dropped } = registry("enforce-new", [volume()]);
    exportRegistry.connect(NQN, HOST_A);
    exportRegistry.update([volume([HOST_B])]);
    expect(exportRegistry.connections(NQN)).toEqual([HOST_A]);
    expect(dropped).toEqual([]);
    expect(refusal(() => exportRegistry.connect(NQN, "nqn.2014-08.org.nvmexpress:uuid:c"))).toBe("host-not-allowed");
    exportRegistry.connect(NQN, HOST_B);
    expect(exportRegistry.connections(NQN)).toEqual([HOST_A, HOST_B]);
  });

  it("enforce-and-drop: drops live connections of hosts no longer allowed and tells listeners", () => {
    const { exportRegistry, dropped } = registry("enforce-and-drop", [volume()]);
    exportRegistry.connect(NQN, HOST_A);
    exportRegistry.connect(NQN, HOST_B);
    exportRegistry.update([volume([HOST_B])]);
    expect(exportRegistry.connections(NQN)).toEqual([HOST_B]);
    expect(dropped).toEqual([{ nqn: NQN, hostNqn: HOST_A, reason: "access-revoked" }]);
  });

  it("drops connections when switched to enforce-and-drop with a list that excludes them", () => {
    const { exportRegistry, dropped } = registry("ignored", [volume([HOST_B])]);
    exportRegistry.connect(NQN, HOST_A);
    exportRegistry.setMode("enforce-and-drop");
    expect(dropped).toEqual([{ nqn: NQN, hostNqn: HOST_A, reason: "access-revoked" }]);
  });

  it.each([
    ["removed", []],
    ["moved to another port", [volume([], { port: 4421 })]],
    ["backed by another file", [volume([], { backingFile: "/other.img" })]],
  ])("drops connections of an export that was %s", (_what, next) => {
    const { exportRegistry, dropped } = registry("ignored", [volume()]);
    exportRegistry.connect(NQN, HOST_A);
    exportRegistry.update(next);
    expect(exportRegistry.connections(NQN)).toEqual([]);
    expect(dropped).toEqual([{ nqn: NQN, hostNqn: HOST_A, reason: "export-removed" }]);
  });

  it("serves the first of two disks sharing an NQN", () => {
    const { exportRegistry } = registry("ignored", [volume(), volume([], { slot: "pvc-2", backingFile: "/b.img" })]);
    expect(exportRegistry.list().map((entry) => entry.slot)).toEqual(["pvc-1"]);
  });

  it("drops everything on request and refuses connections while unavailable", () => {
    const { exportRegistry, dropped } = registry("ignored", [volume()]);
    exportRegistry.connect(NQN, HOST_A);
    exportRegistry.setAvailable(false);
    exportRegistry.dropAll("restart");
    expect(dropped).toEqual([{ nqn: NQN, hostNqn: HOST_A, reason: "restart" }]);
    expect(refusal(() => exportRegistry.connect(NQN, HOST_A))).toBe("unavailable");
    exportRegistry.setAvailable(true);
    exportRegistry.connect(NQN, HOST_A);
  });

  it("stops telling a listener that unsubscribed", () => {
    const { exportRegistry, dropped } = registry("ignored", [volume()]);
    const seen: ConnectionDropped[] = [];
    const unsubscribe = exportRegistry.onConnectionDropped((event) => seen.push(event));
    unsubscribe();
    exportRegistry.connect(NQN, HOST_A);
    exportRegistry.dropAll("shutdown");
    expect(seen).toEqual([]);
    expect(dropped).toHaveLength(1);
  });
});

describe("parseAllowedHosts", () => {
  it("splits on commas and ignores blanks", () => {
    expect(parseAllowedHosts("")).toEqual([]);
    expect(parseAllowedHosts(`${HOST_A}, ${HOST_B},`)).toEqual([HOST_A, HOST_B]);
  });
});
