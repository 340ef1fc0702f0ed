import { setTimeout as sleep } from "node:timers/promises";
import { ExportConnectionRefused, type ConnectionDropped } from "./export-registry.js";
import { InvalidFaultError } from "./fault-injector.js";
import { publicKeyFingerprint } from "./host-key.js";
import { connectSsh, type SshSession } from "./test-support/ssh-exec.js";
import { clientKey, startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";

const ADD = '/disk add type=file slot="pvc-1" file-path="/raid10/vols/pvc-1.img" file-size=1M nvme-tcp-export=yes';

describe("fault injection", () => {
  let t: TestSimulator;
  let ssh: SshSession;
  const run = async (command: string): Promise<string> => (await ssh.exec(command)).stdout;

  beforeEach(async () => {
    t = await startTestSimulator({ poolSize: "1G" });
    ssh = await t.connect();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("adds a delay per command kind", async () => {
    t.sim.faults.setDelay({ mutate: 120 });
    await run(ADD);
    await run("/disk print detail");
    const [add, print] = t.sim.commandLog();
    expect(add!.durationMs).toBeGreaterThanOrEqual(115);
    expect(print!.durationMs).toBeLessThan(115);
  });

  it("cuts the connection before executing: nothing changes", async () => {
    t.sim.faults.dropConnection({ when: "before", count: 1, match: { contains: "/disk add" } });
    await expect(ssh.exec(ADD)).rejects.toThrow("connection closed");
    await ssh.closed;
    expect(t.sim.disks()).toEqual([]);
    expect(t.sim.commandLog()).toMatchObject([{ command: ADD, outcome: "dropped-before", output: "" }]);
    const again = await t.connect();
    expect((await again.exec(ADD)).stdout).toBe("");
    expect(t.sim.disks()).toHaveLength(1);
  });

  it("cuts the connection after executing: the change is made and the reply lost", async () => {
    t.sim.faults.dropConnection({ when: "after", count: 1, match: { regex: "^/disk add" } });
    await expect(ssh.exec(ADD)).rejects.toThrow("connection closed");
    expect(t.sim.disks().map((disk) => disk.slot)).toEqual(["pvc-1"]);
    const again = await t.connect();
    expect((await again.exec(ADD)).stdout).toBe("failure: disk with slot pvc-1 already exists\r\n");
    expect(t.sim.commandLog().map((entry) => entry.outcome)).toEqual(["dropped-after", "error"]);
  });

  it("answers the next N matching commands with a given error instead of executing them", async () => {
    t.sim.faults.errorReply({ text: "failure: disk is busy", count: 2, match: { contains: "/disk add" } });
    expect(await ssh.exec(ADD)).toEqual({ stdout: "failure: disk is busy\r\n", stderr: "", code: 0 });
    expect(await run("/disk print detail where slot=pvc-1")).toBe("");
    expect(await run(ADD)).toBe("failure: disk is busy\r\n");
    expect(await run(ADD)).toBe("");
    expect(t.sim.commandLog().map((entry) => entry.outcome)).toEqual(["injected-error", "ok", "injected-error", "ok"]);
    await t.sim.updateSettings({ errorExitStatus: 1 });
    t.sim.faults.errorReply({ text: "failure: timeout", count: 1 });
    expect((await ssh.exec("/disk print detail")).code).toBe(1);
  });

  it("fills the disk: no free space, nothing may grow, until it is cleared", async () => {
    await run(ADD);
    t.sim.faults.setDiskFull(true);
    expect(await run('/disk print detail where mount-point="raid10"')).toMatch(/free=0 total-inodes=.*\r\n.*use=100%/u);
    expect(await run(ADD.replaceAll("pvc-1", "pvc-2"))).toBe("failure: not enough space\r\n");
    expect(await run("/disk set pvc-1 file-size=2M")).toBe("failure: not enough space\r\n");
    expect(await run("/disk set pvc-1 comment=still-fine")).toBe("");
    t.sim.faults.setDiskFull(false);
    expect(await run(ADD.replaceAll("pvc-1", "pvc-2"))).toBe("");
  });

  it("fails every authentication while set", async () => {
    t.sim.faults.setAuthFailure(true);
    await expect(t.connect()).rejects.toThrow("All configured authentication methods failed");
    t.sim.faults.reset();
    await expect(t.connect()).resolves.toBeDefined();
  });

  it("changes the host key: new connections see the new key, open ones keep working", async () => {
    const before = t.sim.hostKeyFingerprint;
    const fingerprint = await t.sim.changeHostKey();
    expect(fingerprint).not.toBe(before);
    expect(t.sim.hostKeyFingerprint).toBe(fingerprint);
    let presented = "";
    const fresh = await connectSsh({
      port: t.sim.port,
      username: "admin",
      privateKey: clientKey.private,
      onHostKey: (key) => (presented = publicKeyFingerprint(key)),
    });
    expect(presented).toBe(fingerprint);
    fresh.close();
    expect((await ssh.exec("/disk print detail")).code).toBe(0);
  });

  it("restarts: cuts SSH connections and NVMe/TCP connections, keeps disks", async () => {
    await run(ADD);
    const dropped: ConnectionDropped[] = [];
    t.sim.onConnectionDropped((event) => dropped.push(event));
    t.sim.connectHost("pvc-1", "nqn.2014-08.org.nvmexpress:uuid:a");
    await t.sim.restart();
    await ssh.closed;
    expect(dropped).toEqual([{ nqn: "pvc-1", hostNqn: "nqn.2014-08.org.nvmexpress:uuid:a", reason: "restart" }]);
    const again = await t.connect();
    expect(await again.exec('/disk print detail where slot="pvc-1"')).toMatchObject({ code: 0, stdout: expect.stringContaining("pvc-1") });
  });

  it("restarts and refuses connections for a while", async () => {
    await run(ADD);
    await t.sim.restart({ refuseConnectionsMs: 300 });
    await expect(t.connect()).rejects.toThrow("ECONNREFUSED");
    expect(() => t.sim.connectHost("pvc-1", "nqn.2014-08.org.nvmexpress:uuid:a")).toThrow(ExportConnectionRefused);
    let session: SshSession | undefined;
    for (let attempt = 0; session === undefined && attempt < 100; attempt += 1) {
      await sleep(50);
      session = await t.connect().catch(() => undefined);
    }
    expect(session).toBeDefined();
    t.sim.connectHost("pvc-1", "nqn.2014-08.org.nvmexpress:uuid:a");
    expect(t.sim.exports()[0]?.connections).toEqual(["nqn.2014-08.org.nvmexpress:uuid:a"]);
  });

  it("stops cleanly while connections are refused", async () => {
    await t.sim.restart({ refuseConnectionsMs: 60000 });
    await t.sim.stop();
  });

  it("refuses a negative refusal time", async () => {
    await expect(t.sim.restart({ refuseConnectionsMs: -1 })).rejects.toThrow(InvalidFaultError);
  });

  it("resets every standing fault", async () => {
    t.sim.faults.setDiskFull(true);
    t.sim.faults.errorReply({ text: "failure: x", count: 5 });
    t.sim.faults.dropConnection({ when: "before", count: 5 });
    t.sim.faults.reset();
    expect(await run(ADD)).toBe("");
  });
});
