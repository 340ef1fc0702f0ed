import ssh2, { type ParsedKey } from "ssh2";

/**
 * ssh2's key-parser messages that are fixed text. Every other message of its parser quotes what it
 * decoded from the file (`Unsupported OpenSSH key magic: <bytes>`, `Unsupported cipher …: <name>`,
 * `Unsupported OpenSSH private key type: <type>`, an OID, OpenSSL's own text), so it may carry key
 * material and is replaced by a fixed description. Listed from ssh2 1.17's lib/protocol/keyParser.js.
 */
const FIXED_TEXT_REASONS = new Set([
  "Malformed OpenSSH private key",
  "Malformed encrypted OpenSSH private key",
  "Malformed OpenSSH public key",
  "OpenSSH key integrity check failed",
  "Encrypted private OpenSSH key detected, but no passphrase given",
  "Encrypted private key detected, but no passphrase given",
  "Encrypted PPK private key detected, but no passphrase given",
  "PPK private key integrity check failed",
  "Failed to generate information to decrypt key",
  "Unsupported key format",
]);

const UNREADABLE = "not a readable SSH private key (ed25519, ECDSA or RSA, in OpenSSH or PEM format)";

/**
 * Why a private key cannot be used, in words that hold no byte of the key, or undefined when it can.
 * `passphrase` is needed for an encrypted key. Never echoes the parser's message unless it is fixed text.
 */
export function privateKeyProblem(privateKey: string | Buffer, passphrase?: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = ssh2.utils.parseKey(privateKey, passphrase);
  } catch {
    // OpenSSL errors thrown from inside the parser (a wrong passphrase for a PEM key) also quote input.
    return UNREADABLE;
  }
  if (parsed instanceof Error) return FIXED_TEXT_REASONS.has(parsed.message) ? `${UNREADABLE}: ${parsed.message}` : UNREADABLE;
  // ssh2 returns an array for OpenSSH-format files, which may hold several keys; it signs with the first.
  const key = (Array.isArray(parsed) ? parsed[0] : parsed) as ParsedKey | undefined;
  if (key === undefined) return UNREADABLE;
  if (!key.isPrivateKey()) return "holds a public key; the private key is needed";
  return undefined;
}
