import { mkdtemp, open, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateHostKey, hostKeyFingerprint } from "./host-key.js";
import { InvalidStateError } from "./persisted-state.js";
import { startSimulator } from "./simulator.js";
import { clientKey, startTestSimulator } from "./test-support/test-simulator.js";

describe("state across restarts of the simulator", () => {
  let stateDir: string;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "rds-sim-persist-"));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it("keeps disks, files, data, settings and the host key", async () => {
    const first = await startTestSimulator({ stateDir, poolSize: "10G" });
    const ssh = await first.connect();
    await ssh.exec('/disk add type=file slot="pvc-1" file-path="/raid10/vols/pvc-1.img" file-size=1G nvme-tcp-export=yes comment="kept"');
    await ssh.exec('/disk add type=file slot="pvc-2" file-path="/raid10/vols/pvc-2.img" file-size=1G');
    await ssh.exec('/disk remove [find slot="pvc-2"]');
    await first.sim.updateSettings({ copyFrom: "data", diskBusy: "while-connected", foreignDisks: "none", allowHost: "enforce-new", detailWrap: "cut", latency: { readMs: 1 } });
    await writeFile(first.sim.disks()[0]!.backingFile, "written through a loop device", { flag: "r+" });
    const printed = (await ssh.exec("/disk print detail")).stdout;
    const files = (await ssh.exec("/file print detail")).stdout;
    const fingerprint = first.sim.hostKeyFingerprint;
    ssh.close();
    await first.sim.stop();

    const second = await startTestSimulator({ stateDir });
    try {
      const again = await second.connect();
      expect((await again.exec("/disk print detail")).stdout).toBe(printed);
      expect((await again.exec("/file print detail")).stdout).toBe(files);
      expect(second.sim.hostKeyFingerprint).toBe(fingerprint);
      expect(second.sim.settings).toEqual({ copyFrom: "data", diskBusy: "while-connected", foreignDisks: "none", allowHost: "enforce-new", detailWrap: "cut", errorExitStatus: 0, latency: { readMs: 1, mutateMs: 0 } });
      const handle = await open(second.sim.disks()[0]!.backingFile, "r");
      const { buffer } = await handle.read(Buffer.alloc(29), 0, 29, 0);
      await handle.close();
      expect(buffer.toString()).toBe("written through a loop device");
      await again.exec('/disk add type=file slot="pvc-3" file-path="/raid10/vols/pvc-3.img" file-size=1G');
      expect((await again.exec('/disk print detail where slot="pvc-3"')).stdout).toContain("\r\n 2 B type=file");
    } finally {
      await second.sim.stop();
    }
  });

  it("keeps every answered change when the simulator dies without stopping", async () => {
    const first = await startTestSimulator({ stateDir, poolSize: "10G" });
    const second = await (async () => {
      const ssh = await first.connect();
      for (let n = 0; n < 5; n++) await ssh.exec(`/disk add type=file slot="pvc-${n}" file-path="/raid10/vols/pvc-${n}.img" file-size=1M`);
      await ssh.exec('/disk set [find slot="pvc-1"] file-size=2M comment="grown"');
      await ssh.exec('/disk remove [find slot="pvc-2"]');
      await ssh.exec('/file remove [find name="raid10/vols/pvc-2.img"]');
      const printed = (await ssh.exec("/disk print detail")).stdout;
      const files = (await ssh.exec("/file print detail")).stdout;
      // No stop(): the first simulator never gets to write anything more, as if it had been killed here.
      const again = await startTestSimulator({ stateDir });
      return { again, printed, files };
    })();
    try {
      const ssh = await second.again.connect();
      expect((await ssh.exec("/disk print detail")).stdout).toBe(second.printed);
      expect((await ssh.exec("/file print detail")).stdout).toBe(second.files);
    } finally {
      await second.again.sim.stop();
      await first.sim.stop();
    }
  });

  it("lets options override persisted settings and the host key", async () => {
    const first = await startSimulator({ stateDir, password: "p", copyFrom: "data" });
    await first.stop();
    const hostKey = generateHostKey();
    const second = await startSimulator({ stateDir, password: "p", copyFrom: "settings-only", hostKey });
    try {
      expect(second.settings.copyFrom).toBe("settings-only");
      expect(second.hostKeyFingerprint).toBe(hostKeyFingerprint(hostKey));
    } finally {
      await second.stop();
    }
  });

  it("refuses to start when a file the state lists has lost its backing file", async () => {
    const first = await startTestSimulator({ stateDir });
    const ssh = await first.connect();
    await ssh.exec('/disk add type=file slot="pvc-1" file-path="/raid10/pvc-1.img" file-size=1M');
    ssh.close();
    await first.sim.stop();
    await unlink(join(stateDir, "files", "raid10", "pvc-1.img"));
    const start = startSimulator({ stateDir, authorizedKeys: clientKey.public });
    await expect(start).rejects.toThrow(InvalidStateError);
    await expect(startSimulator({ stateDir, authorizedKeys: clientKey.public })).rejects.toThrow(
      `lists raid10/pvc-1.img, but ${join(stateDir, "files", "raid10", "pvc-1.img")} is missing`,
    );
  });

  it("refuses options it cannot use before touching the state directory", async () => {
    await expect(startSimulator({ stateDir, password: "p", hostKey: "nope" })).rejects.toThrow("host key:");
    await expect(startSimulator({ stateDir, authorizedKeys: "ssh-dss AAAA" })).rejects.toThrow("authorized key line 1");
    await expect(startSimulator({ stateDir, password: "p", poolName: "" })).rejects.toThrow('poolName ""');
  });

  it("stops cleanly when the control port is taken, closing the SSH port it had opened", async () => {
    const first = await startSimulator({ stateDir, password: "p" });
    const controlPort = Number(new URL(first.controlUrl).port);
    try {
      await expect(startSimulator({ stateDir: join(stateDir, "b"), password: "p", controlPort })).rejects.toThrow("EADDRINUSE");
    } finally {
      await first.stop();
    }
    expect(JSON.parse(await readFile(join(stateDir, "state.json"), "utf8"))).toMatchObject({ version: 1 });
  });
});
