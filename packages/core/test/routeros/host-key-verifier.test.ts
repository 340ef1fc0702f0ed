import ssh2 from "ssh2";
import { generateEd25519KeyPair } from "@rds-csi/rds-simulator";
import { FailedPreconditionError, InvalidArgumentError } from "../../src/errors.js";
import { createHostKeyVerifier, describeHostKey, hostKeyFingerprint } from "../../src/routeros/host-key-verifier.js";

// Reference values from OpenSSH: `ssh-keygen -lf` printed the fingerprint, `ssh-keygen -H` hashed the
// entries for "10.0.0.1" and "[rds.lab]:2222".
const OPENSSH_KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIG3HUKWKT7RviE3jNNSyq3PgRw3ECQPUOwyGbmcB02go";
const OPENSSH_FINGERPRINT = "SHA256:v4ChhlpxhCIK5Toq349r0oRFCKNW2REz1g9cHJjIGs0";
const HASHED_10_0_0_1 = "|1|q+2RlKh8+9yCRqlKMWCYgLTjf10=|Oruoe+scwkv11nkwYIr0UzC9UP4=";
const HASHED_RDS_LAB_2222 = "|1|lz9+dBWqYAWPa7J1gMvNf8CWE40=|J9oyuUX5N/T7yMWQ7ptGcBAQ448=";

const referenceKey = Buffer.from(OPENSSH_KEY, "base64");
const rds = { host: "10.0.0.1", port: 22 };

/** A fresh public key: its known_hosts text (`<type> <base64>`) and its wire format. */
function newKey(type: "ed25519" | "ecdsa" | "rsa"): { line: string; wire: Buffer } {
  const pair = type === "ecdsa" ? ssh2.utils.generateKeyPairSync("ecdsa", { bits: 256 })
    : type === "rsa" ? ssh2.utils.generateKeyPairSync("rsa", { bits: 2048 })
    : generateEd25519KeyPair();
  const [keyType = "", base64 = ""] = pair.public.split(" ");
  return { line: `${keyType} ${base64}`, wire: Buffer.from(base64, "base64") };
}

function refusal(check: () => FailedPreconditionError | undefined): FailedPreconditionError {
  const error = check();
  if (error === undefined) throw new Error("expected the key to be refused");
  return error;
}

describe("hostKeyFingerprint", () => {
  it("prints OpenSSH's SHA256 fingerprint, and the key type for messages", () => {
    expect(hostKeyFingerprint(referenceKey)).toBe(OPENSSH_FINGERPRINT);
    expect(describeHostKey(referenceKey)).toBe(`ssh-ed25519 ${OPENSSH_FINGERPRINT}`);
  });
});

describe("createHostKeyVerifier with a pinned fingerprint", () => {
  it("accepts the pinned key and keeps ssh2's algorithm list", () => {
    const verifier = createHostKeyVerifier({ fingerprint: OPENSSH_FINGERPRINT }, rds);
    expect(verifier.check(referenceKey)).toBeUndefined();
    expect(verifier.algorithms).toBeUndefined();
    expect(verifier.insecure).toBe(false);
  });

  it("accepts the fingerprint with base64 padding and surrounding spaces", () => {
    const verifier = createHostKeyVerifier({ fingerprint: ` ${OPENSSH_FINGERPRINT}= ` }, rds);
    expect(verifier.check(referenceKey)).toBeUndefined();
  });

  it("refuses another key, naming the expected and the presented fingerprint", () => {
    const other = newKey("ed25519").wire;
    const error = refusal(() => createHostKeyVerifier({ fingerprint: OPENSSH_FINGERPRINT }, rds).check(other));
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error.message).toContain("host key of RDS 10.0.0.1:22 does not match the pinned fingerprint");
    expect(error.message).toContain(`expected ${OPENSSH_FINGERPRINT}`);
    expect(error.message).toContain(`presented ssh-ed25519 ${hostKeyFingerprint(other)}`);
  });

  it.each(["", "v4ChhlpxhCIK5Toq349r0oRFCKNW2REz1g9cHJjIGs0", "MD5:aa:bb", "SHA256:tooShort", `${OPENSSH_FINGERPRINT}x`])(
    "rejects the malformed fingerprint %j naming the setting",
    (fingerprint) => {
      expect(() => createHostKeyVerifier({ fingerprint }, rds)).toThrow(InvalidArgumentError);
      expect(() => createHostKeyVerifier({ fingerprint }, rds)).toThrow(/hostKey\.fingerprint must be an OpenSSH SHA256 fingerprint/);
    },
  );
});

describe("createHostKeyVerifier with known_hosts", () => {
  it("accepts a plain entry for port 22 (the bare host) among comments and other hosts", () => {
    const knownHosts = [
      "# the lab RDS",
      "",
      `10.0.0.2 ${newKey("ed25519").line}`,
      `rds.lab,10.0.0.1 ssh-ed25519 ${OPENSSH_KEY} root@rds`,
    ].join("\n");
    const verifier = createHostKeyVerifier({ knownHosts }, rds);
    expect(verifier.check(referenceKey)).toBeUndefined();
    expect(verifier.algorithms).toEqual(["ssh-ed25519"]);
  });

  it("accepts hashed entries written by ssh-keygen -H, for port 22 and for [host]:port", () => {
    const hashed22 = createHostKeyVerifier({ knownHosts: `${HASHED_10_0_0_1} ssh-ed25519 ${OPENSSH_KEY}` }, rds);
    expect(hashed22.check(referenceKey)).toBeUndefined();
    const hashedPort = createHostKeyVerifier(
      { knownHosts: `${HASHED_RDS_LAB_2222} ssh-ed25519 ${OPENSSH_KEY}\r\n` },
      { host: "rds.lab", port: 2222 },
    );
    expect(hashedPort.check(referenceKey)).toBeUndefined();
  });

  it("looks other ports up as [host]:port and host names case-insensitively", () => {
    const knownHosts = `[RDS.lab]:2222 ssh-ed25519 ${OPENSSH_KEY}`;
    expect(createHostKeyVerifier({ knownHosts }, { host: "rds.LAB", port: 2222 }).check(referenceKey)).toBeUndefined();
    // The same entry does not vouch for the same host on another port.
    expect(() => createHostKeyVerifier({ knownHosts }, { host: "rds.lab", port: 22 })).toThrow(InvalidArgumentError);
  });

  it("matches wildcard patterns and honours a negated pattern on the same line", () => {
    const knownHosts = `*.lab,!old.lab ssh-ed25519 ${OPENSSH_KEY}`;
    expect(createHostKeyVerifier({ knownHosts }, { host: "rds1.lab", port: 22 }).check(referenceKey)).toBeUndefined();
    expect(() => createHostKeyVerifier({ knownHosts }, { host: "old.lab", port: 22 })).toThrow(InvalidArgumentError);
    const single = `rds?.lab ssh-ed25519 ${OPENSSH_KEY}`;
    expect(createHostKeyVerifier({ knownHosts: single }, { host: "rds2.lab", port: 22 }).check(referenceKey)).toBeUndefined();
  });

  it("refuses a changed key, listing every expected fingerprint and the presented one", () => {
    const ecdsa = newKey("ecdsa");
    const rsa = newKey("rsa");
    const knownHosts = `10.0.0.1 ${ecdsa.line}\n10.0.0.1 ${rsa.line}`;
    const verifier = createHostKeyVerifier({ knownHosts }, rds);
    expect(verifier.algorithms).toEqual(["ecdsa-sha2-nistp256", "rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(verifier.check(ecdsa.wire)).toBeUndefined();
    expect(verifier.check(rsa.wire)).toBeUndefined();
    const error = refusal(() => verifier.check(referenceKey));
    expect(error).toBeInstanceOf(FailedPreconditionError);
    expect(error.message).toContain("host key of RDS 10.0.0.1:22 is not in hostKey.knownHosts");
    expect(error.message).toContain(
      `expected ecdsa-sha2-nistp256 ${hostKeyFingerprint(ecdsa.wire)} or ssh-rsa ${hostKeyFingerprint(rsa.wire)}`,
    );
    expect(error.message).toContain(`presented ssh-ed25519 ${OPENSSH_FINGERPRINT}`);
  });

  it("refuses a key marked @revoked even when another line lists it", () => {
    const knownHosts = `10.0.0.1 ssh-ed25519 ${OPENSSH_KEY}\n@revoked 10.0.0.1 ssh-ed25519 ${OPENSSH_KEY}`;
    const error = refusal(() => createHostKeyVerifier({ knownHosts }, rds).check(referenceKey));
    expect(error.message).toBe(
      `host key of RDS 10.0.0.1:22 (ssh-ed25519 ${OPENSSH_FINGERPRINT}) is marked @revoked in hostKey.knownHosts`,
    );
  });

  it("skips lines it cannot use: @cert-authority, unknown key types, truncated lines, keys that do not decode", () => {
    const other = newKey("ed25519");
    const knownHosts = [
      `@cert-authority 10.0.0.1 ssh-ed25519 ${OPENSSH_KEY}`,
      `10.0.0.1 ssh-dss ${OPENSSH_KEY}`,
      "10.0.0.1 ssh-ed25519",
      "10.0.0.1 ssh-ed25519 bm90IGEga2V5",
      `10.0.0.1 ecdsa-sha2-nistp256 ${OPENSSH_KEY}`,
      `|1|broken ssh-ed25519 ${OPENSSH_KEY}`,
      `10.0.0.1 ${other.line}`,
    ].join("\n");
    const verifier = createHostKeyVerifier({ knownHosts }, rds);
    expect(verifier.check(other.wire)).toBeUndefined();
    expect(verifier.check(referenceKey)).toBeInstanceOf(FailedPreconditionError);
  });

  it("rejects known_hosts without a usable key for this host, naming the setting and the lookup form", () => {
    const knownHosts = `10.0.0.2 ssh-ed25519 ${OPENSSH_KEY}\n@revoked 10.0.0.1 ssh-ed25519 ${OPENSSH_KEY}`;
    expect(() => createHostKeyVerifier({ knownHosts }, { host: "10.0.0.1", port: 2222 })).toThrow(
      'hostKey.knownHosts has no ssh-ed25519, ecdsa-sha2-* or ssh-rsa key for [10.0.0.1]:2222 (port 22 entries name the host alone, other ports "[host]:port")',
    );
    expect(() => createHostKeyVerifier({ knownHosts }, rds)).toThrow(InvalidArgumentError);
  });
});

describe("createHostKeyVerifier with insecureSkip", () => {
  it("accepts any key and says it is insecure", () => {
    const verifier = createHostKeyVerifier({ insecureSkip: true }, rds);
    expect(verifier.insecure).toBe(true);
    expect(verifier.check(newKey("ed25519").wire)).toBeUndefined();
  });
});
