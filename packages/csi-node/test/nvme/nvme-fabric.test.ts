import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FailedPreconditionError, InvalidArgumentError, ProcessExec } from "@rds-csi/core";
import { FakeFabric, loopsOf, describeAsRoot } from "@rds-csi/testkit";
import { changeAsOperator, generateEd25519KeyPair, startSimulator, type RdsSimulator } from "@rds-csi/rds-simulator";
import { DeviceResolver } from "../../src/nvme/device-identity.js";
import { loadHostIdentity, type HostIdentity } from "../../src/nvme/host-identity.js";
import { NvmeCliInitiator } from "../../src/nvme/nvme-cli-initiator.js";
import type { ConnectRequest } from "../../src/nvme/nvme-initiator.js";
import { RootedSysfs } from "../../src/nvme/sysfs.js";

// Real loop devices and device nodes through the fake fabric: root only.
const key = generateEd25519KeyPair();
const NQN = "nqn.2000-02.com.mikrotik:pvc-nvme-1";

describeAsRoot("NVMe initiator and device identity over the fake fabric", () => {
  let stateDir: string;
  let etcDir: string;
  let sim: RdsSimulator;
  let fabric: FakeFabric | undefined;
  let backingFile: string;
  let host: HostIdentity;
  let initiator: NvmeCliInitiator;
  let resolver: DeviceResolver;
  const signal = (): AbortSignal => AbortSignal.timeout(20_000);

  const rig = (command: string): Promise<void> => changeAsOperator(sim, key.private, command);

  const request = (): ConnectRequest => ({ address: "127.0.0.1", port: 4420, nqn: NQN, hostNqn: host.hostNqn, hostId: host.hostId, ctrlLossTmo: 600, reconnectDelay: 2, keepAliveTmo: 5 });
  const loopDev = async (): Promise<string> => {
    const loops = await loopsOf(backingFile);
    expect(loops).toHaveLength(1);
    return (await readFile(`/sys/class/block/${loops[0]!.slice(5)}/dev`, "utf8")).trim();
  };

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "csi-node-nvme-rds-"));
    etcDir = await mkdtemp(join(tmpdir(), "csi-node-nvme-etc-"));
    sim = await startSimulator({ stateDir, authorizedKeys: key.public, poolSize: "10G" });
    await rig(`/disk add type=file slot="pvc-nvme-1" file-path="/raid10/vols/pvc-nvme-1.img" file-size=4M nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${NQN}"`);
    backingFile = sim.disks().find((d) => d.slot === "pvc-nvme-1")!.backingFile;
    host = await loadHostIdentity(etcDir);
    fabric = await FakeFabric.create({ simulatorUrl: sim.controlUrl, hostNqn: host.hostNqn });
    const sysfs = new RootedSysfs(fabric.sysfsRoot);
    initiator = new NvmeCliInitiator({ exec: new ProcessExec(), nvmeCli: await fabric.writeShim(), sysfs, connectTimeoutMs: 20_000 });
    resolver = new DeviceResolver(sysfs, fabric.devRoot);
  });

  afterEach(async () => {
    await fabric?.cleanup();
    fabric = undefined;
    await sim.stop();
    expect(await loopsOf(backingFile)).toEqual([]);
    await rm(stateDir, { recursive: true, force: true });
    await rm(etcDir, { recursive: true, force: true });
  });

  it("connects with this node's identity; the controller is live in sysfs; the device resolves by identity", async () => {
    expect(await resolver.resolve(NQN)).toBeUndefined();
    expect(await initiator.connect(request(), signal())).toEqual({ newlyConnected: true });

    const controllers = await initiator.controllers(NQN);
    expect(controllers).toHaveLength(1);
    expect(controllers[0]).toMatchObject({ state: "live", hostNqn: host.hostNqn, transport: "tcp", address: { traddr: "127.0.0.1", trsvcid: "4420" } });
    expect(controllers[0]!.name).toMatch(/^nvme\d+$/);
    expect(await initiator.controllers("nqn.2000-02.com.mikrotik:other")).toEqual([]);
    expect(sim.connections(NQN)).toEqual([host.hostNqn]);

    const identity = await resolver.waitForNamespace(NQN, signal(), 5_000);
    expect(identity).toMatchObject({ nqn: NQN, nsid: 1, sizeBytes: 4 * 1024 * 1024, majorMinor: await loopDev() });
    expect(identity.name).toMatch(/^nvme\d+n1$/);
    expect(identity.devicePath).toBe(join(fabric!.devRoot, identity.name));
    expect(identity.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(await resolver.verify(identity)).toEqual(identity);
  });

  it("treats 'already connected' as success and keeps one controller", async () => {
    await initiator.connect(request(), signal());
    expect(await initiator.connect(request(), signal())).toEqual({ newlyConnected: false });
    expect(await initiator.controllers(NQN)).toHaveLength(1);
  });

  // The one NQN grammar (core's nvme/nqn.ts), checked before nvme-cli runs: it would split a comma-joined
  // pair into two NQNs, and RouterOS neither lists nor grants a colon-less or upper-case-domain name.
  it.each([
    ["nqn", "nqn.2000-02.com.mikrotik:pvc-nvme-1,nqn.2000-02.com.mikrotik:other"],
    ["nqn", "nqn.2000-02.com.mikrotik"],
    ["hostNqn", "nqn.2014-08.ORG.example:host"],
    ["hostNqn", "nqn.2014-08.org.nvmexpress"],
  ])("refuses a malformed %s %j before running nvme-cli", async (field, value) => {
    await expect(initiator.connect({ ...request(), [field]: value }, signal())).rejects.toThrow(
      new InvalidArgumentError(`${field} is not an NVMe qualified name: ${JSON.stringify(value)}`),
    );
    if (field === "nqn") await expect(initiator.disconnect(value, signal())).rejects.toThrow(InvalidArgumentError);
    expect(sim.connections(NQN)).toEqual([]);
    expect(await initiator.controllers(NQN)).toEqual([]);
  });

  it("fails a refused connect as unavailable", async () => {
    await expect(initiator.connect({ ...request(), nqn: "nqn.2000-02.com.mikrotik:missing" }, signal())).rejects.toThrow(/could not add new controller/);
  });

  it("after a renumbering reconnect, resolves the new device and refuses the old identity", async () => {
    await initiator.connect(request(), signal());
    const before = await resolver.waitForNamespace(NQN, signal(), 5_000);
    const oldController = (await initiator.controllers(NQN))[0]!.name;

    await fabric!.reconnect(NQN, { renumber: true });

    const after = await resolver.waitForNamespace(NQN, signal(), 5_000);
    expect(after.uuid).toBe(before.uuid); // same namespace …
    expect(after.name).not.toBe(before.name); // … on another head …
    expect(after.majorMinor).not.toBe(before.majorMinor); // … and another device
    expect(after.majorMinor).toBe(await loopDev());
    await expect(resolver.verify(before)).rejects.toThrow(FailedPreconditionError);
    expect(await resolver.verify(after)).toEqual(after);
    const controllers = await initiator.controllers(NQN);
    expect(controllers.map((c) => c.name)).not.toContain(oldController);
    expect(controllers.map((c) => c.state)).toEqual(["live"]);
  });

  it("reports a lost connection as connecting", async () => {
    await initiator.connect(request(), signal());
    await fabric!.loseConnection(NQN);
    expect((await initiator.controllers(NQN)).map((c) => c.state)).toEqual(["connecting"]);
  });

  it("disconnects: controllers gone from sysfs, device no longer resolves, verify fails closed", async () => {
    await initiator.connect(request(), signal());
    const identity = await resolver.waitForNamespace(NQN, signal(), 5_000);
    expect(await initiator.disconnect(NQN, signal())).toBe(1);
    expect(await initiator.controllers(NQN)).toEqual([]);
    expect(await resolver.resolve(NQN)).toBeUndefined();
    await expect(resolver.verify(identity)).rejects.toThrow(FailedPreconditionError);
    expect(await loopsOf(backingFile)).toEqual([]);
    // idempotent
    expect(await initiator.disconnect(NQN, signal())).toBe(0);
  });

  it("waitForNamespace is bounded", async () => {
    const started = Date.now();
    await expect(resolver.waitForNamespace(NQN, signal(), 200)).rejects.toThrow(/did not appear within 200 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
