import ssh2, { type ParsedKey } from "ssh2";

export type PublicKey = ParsedKey;

const KEY_TYPES = new Set([
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "ssh-rsa",
]);

/** An authorized_keys entry that cannot be used; the message names the line. */
export class InvalidAuthorizedKeyError extends Error {
  override readonly name = "InvalidAuthorizedKeyError";
}

/**
 * Reads OpenSSH `authorized_keys` text: one key per line (`[options] type base64 [comment]`), blank
 * lines and `#` comments skipped. Options such as `no-pty` are accepted and ignored. ed25519, ECDSA and
 * RSA keys are supported; any other line stops start-up, so a key silently not loaded cannot be the
 * reason a login fails.
 */
export function parseAuthorizedKeys(text: string): PublicKey[] {
  const keys: PublicKey[] = [];
  text.split(/\r?\n/u).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/\s+/u);
    const typeAt = fields.findIndex((field) => KEY_TYPES.has(field));
    const blob = typeAt < 0 ? undefined : fields[typeAt + 1];
    if (blob === undefined) throw new InvalidAuthorizedKeyError(`authorized key line ${index + 1}: no supported key type (ed25519, ecdsa, rsa)`);
    const parsed = ssh2.utils.parseKey(`${fields[typeAt]} ${blob}`);
    if (parsed instanceof Error) throw new InvalidAuthorizedKeyError(`authorized key line ${index + 1}: ${parsed.message}`);
    keys.push(parsed);
  });
  return keys;
}
