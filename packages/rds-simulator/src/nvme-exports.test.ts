import { access } from "node:fs/promises";
import { ExportConnectionRefused, type ConnectionDropped } from "./export-registry.js";
import { startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";
import type { SshSession } from "./test-support/ssh-exec.js";
import type { AllowHostMode } from "./settings.js";

const NQN = "nqn.2000-02.com.mikrotik:pvc-1";
const HOST_A = "nqn.2014-08.org.nvmexpress:uuid:node-a";
const HOST_B = "nqn.2014-08.org.nvmexpress:uuid:node-b";

describe("NVMe/TCP exports of the simulated RDS", () => {
  let t: TestSimulator;
  let ssh: SshSession;
  let dropped: ConnectionDropped[];
  const run = async (command: string): Promise<string> => (await ssh.exec(command)).stdout;

  async function start(allowHost: AllowHostMode): Promise<void> {
    t = await startTestSimulator({ allowHost });
    ssh = await t.connect();
    dropped = [];
    t.sim.onConnectionDropped((event) => dropped.push(event));
    await run(`/disk add type=file slot="pvc-1" file-path="/raid10/vols/pvc-1.img" file-size=1M nvme-tcp-export=yes nvme-tcp-server-port=4420 nvme-tcp-server-nqn="${NQN}"`);
  }

  function refusal(nqn: string, host: string): string | undefined {
    try {
      t.sim.connectHost(nqn, host);
    } catch (err) {
      if (err instanceof ExportConnectionRefused) return err.reason;
      throw err;
    }
    return undefined;
  }

  afterEach(async () => {
    await t.cleanup();
  });

  it("lists each export with slot, NQN, port, allowed hosts, backing file and connections", async () => {
    await start("ignored");
    await run('/disk add type=file slot="pvc-2" file-path="/raid10/vols/pvc-2.img" file-size=1M nvme-tcp-export=yes');
    await run('/disk add type=file slot="snap-1" file-path="/raid10/snaps/snap-1.img" file-size=1M');
    t.sim.connectHost(NQN, HOST_A);
    expect(t.sim.exports()).toEqual([
      { slot: "pvc-1", nqn: NQN, port: 4420, allowedHosts: [], backingFile: `${t.stateDir}/files/raid10/vols/pvc-1.img`, connections: [HOST_A] },
      { slot: "pvc-2", nqn: "pvc-2", port: 4420, allowedHosts: [], backingFile: `${t.stateDir}/files/raid10/vols/pvc-2.img`, connections: [] },
    ]);
    await access(t.sim.exports()[0]!.backingFile);
    expect(t.sim.connections(NQN)).toEqual([HOST_A]);
    t.sim.disconnectHost(NQN, HOST_A);
    expect(t.sim.connections(NQN)).toEqual([]);
    expect(refusal("nqn.2000-02.com.mikrotik:nope", HOST_A)).toBe("no-such-export");
  });

  it("ignored: any host may connect whatever the allow list says", async () => {
    await start("ignored");
    await run(`/disk set [find slot="pvc-1"] nvme-tcp-server-allow-host-name="${HOST_A}"`);
    t.sim.connectHost(NQN, HOST_B);
    expect(t.sim.connections(NQN)).toEqual([HOST_B]);
  });

  it("enforce-new: refuses new connections from other hosts and keeps live ones", async () => {
    await start("enforce-new");
    t.sim.connectHost(NQN, HOST_A);
    await run(`/disk set [find slot="pvc-1"] nvme-tcp-server-allow-host-name="${HOST_B}"`);
    expect(t.sim.exports()[0]?.allowedHosts).toEqual([HOST_B]);
    expect(refusal(NQN, "nqn.2014-08.org.nvmexpress:uuid:node-c")).toBe("host-not-allowed");
    t.sim.connectHost(NQN, HOST_B);
    expect(t.sim.connections(NQN)).toEqual([HOST_A, HOST_B]);
    expect(dropped).toEqual([]);
  });

  it("enforce-and-drop: drops live connections of hosts no longer allowed and tells listeners", async () => {
    await start("enforce-and-drop");
    t.sim.connectHost(NQN, HOST_A);
    t.sim.connectHost(NQN, HOST_B);
    await run(`/disk set [find slot="pvc-1"] nvme-tcp-server-allow-host-name="${HOST_B}"`);
    expect(t.sim.connections(NQN)).toEqual([HOST_B]);
    expect(dropped).toEqual([{ nqn: NQN, hostNqn: HOST_A, reason: "access-revoked" }]);
    expect(refusal(NQN, HOST_A)).toBe("host-not-allowed");
  });

  it("drops connections when the mode changes to enforce-and-drop at run time", async () => {
    await start("ignored");
    await run(`/disk set [find slot="pvc-1"] nvme-tcp-server-allow-host-name="${HOST_B}"`);
    t.sim.connectHost(NQN, HOST_A);
    await t.sim.updateSettings({ allowHost: "enforce-and-drop" });
    expect(dropped).toEqual([{ nqn: NQN, hostNqn: HOST_A, reason: "access-revoked" }]);
  });

  it.each([
    ["unexported", '/disk set [find slot="pvc-1"] nvme-tcp-export=no'],
    ["removed", '/disk remove [find slot="pvc-1"]'],
    ["moved to another port", '/disk set [find slot="pvc-1"] nvme-tcp-server-port=4421'],
  ])("drops connections of an export that is %s", async (_what, command) => {
    await start("ignored");
    t.sim.connectHost(NQN, HOST_A);
    await run(command);
    expect(t.sim.connections(NQN)).toEqual([]);
    expect(dropped).toEqual([{ nqn: NQN, hostNqn: HOST_A, reason: "export-removed" }]);
  });

  it("drops every connection when the simulator stops", async () => {
    await start("ignored");
    t.sim.connectHost(NQN, HOST_A);
    await t.sim.stop();
    expect(dropped).toEqual([{ nqn: NQN, hostNqn: HOST_A, reason: "shutdown" }]);
  });
});
