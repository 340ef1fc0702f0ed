import { createHash, createHmac } from "node:crypto";
import type { ServerHostKeyAlgorithm } from "ssh2";
import { FailedPreconditionError, InvalidArgumentError } from "../errors.js";

/**
 * How the RDS's SSH host key is trusted. There is no default: a pinned fingerprint or known_hosts
 * content is required, and skipping the check must be asked for by name (labs only).
 */
export type HostKeyPolicy =
  /** OpenSSH format, as `ssh-keygen -lf` prints it: `SHA256:<base64 without padding>` */
  | { readonly fingerprint: string }
  /** OpenSSH known_hosts content (e.g. `ssh-keyscan` output): plain or hashed names, `[host]:port` */
  | { readonly knownHosts: string }
  | { readonly insecureSkip: true };

export interface HostKeyVerifier {
  /** Every key is accepted; the transport warns about it on each connect. */
  readonly insecure: boolean;
  /**
   * Host key algorithms to negotiate, most preferred first, or undefined for ssh2's defaults. With
   * known_hosts we offer only the types it holds for this host: a server with several host keys would
   * otherwise present one we have no entry for and be refused (the earlier driver's flaw).
   */
  readonly algorithms: ServerHostKeyAlgorithm[] | undefined;
  /** Undefined when the presented key (SSH wire format) is trusted; otherwise the refusal to report. */
  check(key: Buffer): FailedPreconditionError | undefined;
}

export interface HostKeyTarget {
  readonly host: string;
  readonly port: number;
}

/** `SHA256:<base64 without padding>` of a wire-format public key, as OpenSSH prints it. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

/** `<key type> SHA256:<…>`, for messages: naming the type tells an operator which key the RDS presented. */
export function describeHostKey(key: Buffer): string {
  return `${keyTypeOf(key) ?? "unknown-type"} ${hostKeyFingerprint(key)}`;
}

/**
 * Builds the check for one RDS. Throws `InvalidArgumentError` naming the setting when the policy
 * cannot work: a malformed fingerprint, or known_hosts without a usable key for this host.
 */
export function createHostKeyVerifier(policy: HostKeyPolicy, target: HostKeyTarget): HostKeyVerifier {
  if ("insecureSkip" in policy) return { insecure: true, algorithms: undefined, check: () => undefined };
  if ("fingerprint" in policy) return pinnedFingerprint(policy.fingerprint, target);
  return knownHostsVerifier(policy.knownHosts, target);
}

const FINGERPRINT_SHAPE = /^SHA256:([A-Za-z0-9+/]{43})=?$/;

function pinnedFingerprint(fingerprint: string, target: HostKeyTarget): HostKeyVerifier {
  const match = FINGERPRINT_SHAPE.exec(fingerprint.trim());
  if (match === null) {
    throw new InvalidArgumentError(
      `hostKey.fingerprint must be an OpenSSH SHA256 fingerprint like "SHA256:<43 base64 characters>" ` +
        `(ssh-keygen -lf), got "${fingerprint}"`,
    );
  }
  const expected = `SHA256:${match[1]}`;
  return {
    insecure: false,
    algorithms: undefined,
    check(key) {
      if (hostKeyFingerprint(key) === expected) return undefined;
      return new FailedPreconditionError(
        `host key of RDS ${targetName(target)} does not match the pinned fingerprint: expected ${expected}, ` +
          `presented ${describeHostKey(key)}; if the RDS host key was replaced on purpose, update hostKey.fingerprint`,
      );
    },
  };
}

/** The key types we accept from known_hosts, and the host key algorithms each one allows. */
const ALGORITHMS_BY_KEY_TYPE: Readonly<Record<string, readonly ServerHostKeyAlgorithm[]>> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};

interface KnownHostsEntry {
  readonly revoked: boolean;
  readonly keyType: string;
  readonly key: Buffer;
}

function knownHostsVerifier(text: string, target: HostKeyTarget): HostKeyVerifier {
  const entries = knownHostsEntriesFor(text, target);
  const trusted = entries.filter((entry) => !entry.revoked);
  if (trusted.length === 0) {
    throw new InvalidArgumentError(
      `hostKey.knownHosts has no ssh-ed25519, ecdsa-sha2-* or ssh-rsa key for ${lookupName(target)} ` +
        `(port 22 entries name the host alone, other ports "[host]:port")`,
    );
  }
  const types = Object.keys(ALGORITHMS_BY_KEY_TYPE).filter((type) => trusted.some((entry) => entry.keyType === type));
  return {
    insecure: false,
    algorithms: types.flatMap((type) => ALGORITHMS_BY_KEY_TYPE[type] ?? []),
    check(key) {
      const matching = entries.filter((entry) => entry.key.equals(key));
      if (matching.some((entry) => entry.revoked)) {
        return new FailedPreconditionError(
          `host key of RDS ${targetName(target)} (${describeHostKey(key)}) is marked @revoked in hostKey.knownHosts`,
        );
      }
      if (matching.length > 0) return undefined;
      const expected = trusted.map((entry) => describeHostKey(entry.key)).join(" or ");
      return new FailedPreconditionError(
        `host key of RDS ${targetName(target)} is not in hostKey.knownHosts: expected ${expected}, ` +
          `presented ${describeHostKey(key)}; if the RDS host key was replaced on purpose, update hostKey.knownHosts`,
      );
    },
  };
}

/**
 * The entries whose host field names this RDS. Lines OpenSSH would also skip (comments, unknown key
 * types, keys that do not decode) are ignored; `@cert-authority` lines are skipped because they vouch
 * for certificates, and the RDS presents a plain key.
 */
function knownHostsEntriesFor(text: string, target: HostKeyTarget): KnownHostsEntry[] {
  const name = lookupName(target);
  const entries: KnownHostsEntry[] = [];
  for (const line of text.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (fields[0] === undefined || fields[0] === "" || fields[0].startsWith("#")) continue;
    const marker = fields[0].startsWith("@") ? fields.shift() : undefined;
    if (marker !== undefined && marker !== "@revoked") continue;
    const [hosts, keyType, keyBase64] = fields;
    if (hosts === undefined || keyType === undefined || keyBase64 === undefined) continue;
    if (ALGORITHMS_BY_KEY_TYPE[keyType] === undefined) continue;
    const key = Buffer.from(keyBase64, "base64");
    if (keyTypeOf(key) !== keyType || !hostsFieldMatches(hosts, name)) continue;
    entries.push({ revoked: marker === "@revoked", keyType, key });
  }
  return entries;
}

/** How OpenSSH writes the host in known_hosts: the bare host for port 22, `[host]:port` otherwise. */
function lookupName(target: HostKeyTarget): string {
  const host = target.host.toLowerCase();
  return target.port === 22 ? host : `[${host}]:${target.port}`;
}

/** For messages: `host:port`, with brackets around an IPv6 address. */
function targetName(target: HostKeyTarget): string {
  return target.host.includes(":") ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
}

/** A hashed field (`|1|salt|hash`, HMAC-SHA1 of the name) or comma-separated patterns with `*`, `?`, `!`. */
function hostsFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|1|")) {
    const [salt, hash] = field.slice(3).split("|");
    if (salt === undefined || hash === undefined) return false;
    const computed = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest();
    return computed.equals(Buffer.from(hash, "base64"));
  }
  let matched = false;
  for (const pattern of field.toLowerCase().split(",")) {
    const negated = pattern.startsWith("!");
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    // A negated pattern that matches excludes the host whatever else the line lists, as in OpenSSH.
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(name);
}

/** The algorithm name a wire-format key starts with (uint32 length + ASCII name), if it is well formed. */
function keyTypeOf(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const length = key.readUInt32BE(0);
  if (length === 0 || 4 + length > key.length) return undefined;
  return key.subarray(4, 4 + length).toString("latin1");
}
