import ssh2 from "ssh2";
import { InvalidAuthorizedKeyError, parseAuthorizedKeys } from "./authorized-keys.js";
import { generateEd25519KeyPair } from "./host-key.js";

describe("parseAuthorizedKeys", () => {
  const ed25519 = `${generateEd25519KeyPair().public} me@host`;
  const ecdsa = ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256 }).public;
  const rsa = ssh2.utils.generateKeyPairSync("rsa", { bits: 2048 }).public;

  it("reads ed25519, ECDSA and RSA keys, skipping blank lines and comments", () => {
    const keys = parseAuthorizedKeys(`# admins\n${ed25519}\n\n${ecdsa}\r\n${rsa}\n`);
    expect(keys.map((key) => key.type)).toEqual(["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa"]);
  });

  it("accepts and ignores options before the key", () => {
    const [key] = parseAuthorizedKeys(`no-pty,from="10.0.0.0/8" ${ed25519}`);
    expect(key?.type).toBe("ssh-ed25519");
  });

  it.each([
    ["an unsupported key type", "ssh-dss AAAAB3NzaC1kc3MAAACBAP", "authorized key line 1: no supported key type (ed25519, ecdsa, rsa)"],
    ["a type without key", "# c\nssh-ed25519", "authorized key line 2: no supported key type"],
    ["a damaged key", "ssh-ed25519 AAAAnotakey", "authorized key line 1: "],
  ])("refuses %s, naming the line", (_what, text, message) => {
    expect(() => parseAuthorizedKeys(text)).toThrow(InvalidAuthorizedKeyError);
    expect(() => parseAuthorizedKeys(text)).toThrow(message);
  });
});
