import { rm, writeFile } from "node:fs/promises";
import ssh2 from "ssh2";
import { generateEd25519KeyPair } from "./host-key.js";
import { connectSsh } from "./test-support/ssh-exec.js";
import { clientKey, startTestSimulator, type TestSimulator } from "./test-support/test-simulator.js";

describe("SSH service", () => {
  let t: TestSimulator;
  afterEach(async () => {
    await t.cleanup();
  });

  it("accepts the configured password for the configured user, with or without console options", async () => {
    t = await startTestSimulator({ user: "csi", password: "s3cret", authorizedKeys: undefined });
    for (const username of ["csi", "csi+ct200w"]) {
      const session = await connectSsh({ port: t.sim.port, username, password: "s3cret" });
      expect((await session.exec("/disk print detail")).code).toBe(0);
      session.close();
    }
    expect(t.sim.commandLog().map((entry) => entry.user)).toEqual(["csi", "csi"]);
    await expect(connectSsh({ port: t.sim.port, username: "csi", password: "wrong" })).rejects.toThrow("authentication methods failed");
    await expect(connectSsh({ port: t.sim.port, username: "admin", password: "s3cret" })).rejects.toThrow("authentication methods failed");
    await expect(connectSsh({ port: t.sim.port, username: "csi", privateKey: generateEd25519KeyPair().private })).rejects.toThrow(
      "authentication methods failed",
    );
  });

  it("accepts ed25519, ECDSA and RSA keys from authorized_keys, and no other key", async () => {
    const ecdsa = ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256 });
    const rsa = ssh2.utils.generateKeyPairSync("rsa", { bits: 2048 });
    const ed25519 = generateEd25519KeyPair();
    t = await startTestSimulator({ authorizedKeys: [`${ed25519.public}\n${ecdsa.public}`, rsa.public] });
    for (const key of [ed25519, ecdsa, rsa]) {
      const session = await connectSsh({ port: t.sim.port, username: "admin", privateKey: key.private });
      expect((await session.exec("/file print detail")).code).toBe(0);
      session.close();
    }
    await expect(connectSsh({ port: t.sim.port, username: "admin", privateKey: generateEd25519KeyPair().private })).rejects.toThrow(
      "authentication methods failed",
    );
    await expect(connectSsh({ port: t.sim.port, username: "admin", password: "x" })).rejects.toThrow("authentication methods failed");
  });

  it("refuses a shell: exec requests only", async () => {
    t = await startTestSimulator({});
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once("ready", resolve).once("error", reject);
      client.connect({ host: "127.0.0.1", port: t.sim.port, username: "admin", privateKey: clientKey.private });
    });
    await expect(new Promise((resolve, reject) => client.shell((err, channel) => (err ? reject(err) : resolve(channel))))).rejects.toThrow();
    client.end();
  });

  it("cuts the connection when it cannot save the state after a change", async () => {
    t = await startTestSimulator({});
    const session = await t.connect();
    await session.exec('/disk add type=file slot="a" file-path="/raid10/a.img" file-size=1M');
    // A file where the state directory was: the state cannot be written.
    await rm(t.stateDir, { recursive: true, force: true });
    await writeFile(t.stateDir, "");
    await expect(session.exec('/disk set [find slot="a"] comment="unsaved"')).rejects.toThrow("connection closed");
  });
});
