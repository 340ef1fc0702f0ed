import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import ssh2 from "ssh2";
import { checkHostKey, generateEd25519KeyPair, generateHostKey, hostKeyFingerprint, InvalidHostKeyError } from "./host-key.js";

describe("host keys", () => {
  it("generates ed25519 keys and fingerprints them exactly as ssh-keygen does", async () => {
    const key = generateHostKey();
    const parsed = ssh2.utils.parseKey(key);
    if (parsed instanceof Error) throw parsed;
    expect(parsed.type).toBe("ssh-ed25519");
    const dir = await mkdtemp(join(tmpdir(), "rds-sim-key-"));
    try {
      const publicFile = join(dir, "key.pub");
      await writeFile(publicFile, `ssh-ed25519 ${parsed.getPublicSSH().toString("base64")}\n`);
      const { stdout } = await promisify(execFile)("ssh-keygen", ["-l", "-E", "sha256", "-f", publicFile]);
      expect(stdout.split(" ")[1]).toBe(hostKeyFingerprint(key));
      expect(hostKeyFingerprint(key)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/u);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("only returns key pairs that read back, although ssh2's generator sometimes makes one that does not", () => {
    for (let i = 0; i < 300; i += 1) {
      const pair = generateEd25519KeyPair();
      expect(ssh2.utils.parseKey(pair.private)).not.toBeInstanceOf(Error);
      expect(ssh2.utils.parseKey(pair.public)).not.toBeInstanceOf(Error);
    }
  });

  it("accepts a private key and refuses anything else", () => {
    expect(() => checkHostKey(generateHostKey())).not.toThrow();
    expect(() => checkHostKey("not a key")).toThrow(InvalidHostKeyError);
    expect(() => checkHostKey(generateEd25519KeyPair().public)).toThrow("host key: not a private key");
    expect(() => hostKeyFingerprint("not a key")).toThrow(InvalidHostKeyError);
  });
});
