import { changeAsOperator, operatorLogin, runAsOperator } from "./operator-access.js";
import { clientKey, startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";

describe("operator access (test support for the driver's tests)", () => {
  let t: TestSimulator;
  beforeEach(async () => {
    t = await startTestSimulator();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  it("names the simulator's address, its operator, the key and the pinned host key", () => {
    expect(operatorLogin(t.sim, clientKey.private)).toEqual({
      host: "127.0.0.1",
      port: t.sim.port,
      username: "admin",
      auth: { privateKey: clientKey.private },
      hostKey: { fingerprint: t.sim.hostKeyFingerprint },
    });
  });

  it("runs a command as the operator and returns its output", async () => {
    await changeAsOperator(t.sim, clientKey.private, '/disk add type=file slot="op-1" file-path="/raid10/op-1.img" file-size=1G');
    expect(t.sim.disks().map((disk) => disk.slot)).toContain("op-1");
    expect(await runAsOperator(t.sim, clientKey.private, '/disk print detail where slot="op-1"')).toContain('slot="op-1"');
  });

  it("fails a change RouterOS refuses, with RouterOS's answer", async () => {
    await expect(changeAsOperator(t.sim, clientKey.private, "/disk remove [find slot=nope]x")).rejects.toThrow(/^\/disk remove \[find slot=nope\]x: .+/);
  });
});
