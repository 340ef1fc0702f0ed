import { createHash } from "node:crypto";
import ssh2 from "ssh2";

const PROBE = Buffer.from("rds-simulator key check");

/**
 * A new ed25519 key pair in OpenSSH format. ssh2's generateKeyPairSync("ed25519") returns, about once in
 * 250 calls, a pair it cannot read back (the public half lost a leading zero byte), so a pair is only
 * returned once both halves parse and a signature verifies.
 */
export function generateEd25519KeyPair(): { readonly private: string; readonly public: string } {
  for (;;) {
    const pair = ssh2.utils.generateKeyPairSync("ed25519");
    const privateKey = ssh2.utils.parseKey(pair.private);
    const publicKey = ssh2.utils.parseKey(pair.public);
    if (!(privateKey instanceof Error) && !(publicKey instanceof Error) && publicKey.verify(PROBE, privateKey.sign(PROBE))) return pair;
  }
}

/** A new ed25519 host private key in OpenSSH format. */
export function generateHostKey(): string {
  return generateEd25519KeyPair().private;
}

/** A host private key that ssh2 can serve; the message says why not otherwise. */
export class InvalidHostKeyError extends Error {
  override readonly name = "InvalidHostKeyError";
}

/** Checks that `privateKey` is a private key ssh2 can use as a host key. */
export function checkHostKey(privateKey: string): void {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new InvalidHostKeyError(`host key: ${parsed.message}`);
  if (!parsed.isPrivateKey()) throw new InvalidHostKeyError("host key: not a private key");
}

/** The fingerprint OpenSSH shows for a host key (`SHA256:` and the unpadded base64 of the SHA-256 of the public key blob). */
export function hostKeyFingerprint(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new InvalidHostKeyError(`host key: ${parsed.message}`);
  return publicKeyFingerprint(parsed.getPublicSSH());
}

/** The same fingerprint from the public key blob a client is shown during the handshake. */
export function publicKeyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/u, "")}`;
}
