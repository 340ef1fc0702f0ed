import { createHash } from "node:crypto";
import ssh2 from "ssh2";

/** A new ed25519 host private key in OpenSSH format. */
export function generateHostKey(): string {
  return ssh2.utils.generateKeyPairSync("ed25519").private;
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

/** The fingerprint OpenSSH shows for a host key: `SHA256:` and the unpadded base64 of the public key blob's SHA-256. */
export function hostKeyFingerprint(privateKey: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  if (parsed instanceof Error) throw new InvalidHostKeyError(`host key: ${parsed.message}`);
  const digest = createHash("sha256").update(parsed.getPublicSSH()).digest("base64");
  return `SHA256:${digest.replace(/=+$/u, "")}`;
}
