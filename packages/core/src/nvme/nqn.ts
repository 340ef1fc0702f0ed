import { InvalidArgumentError } from "../errors.js";
import { printableExcerpt } from "../routeros/printable-excerpt.js";

/**
 * The one grammar for NVMe Qualified Names (NQNs) in the driver: volume export NQNs the controller
 * writes to RouterOS and into publish_context, host NQNs read from /etc/nvme/hostnqn and from the
 * Node annotation, and every NQN the node passes to nvme-cli.
 *
 * NVM Express Base Specification, "NVMe Qualified Names" (§4.5 in revision 2.0, §7.9 in 1.3): UTF-8, at most 223
 * bytes, in one of two forms —
 *   `nqn.` yyyy-mm `.` reverse-domain `:` string      e.g. nqn.2000-02.com.mikrotik:pvc-1
 *   `nqn.2014-08.org.nvmexpress:uuid:` uuid             e.g. what `nvme gen-hostnqn` writes
 * (the UUID form is an instance of the first, so one pattern covers both). The only colon-less NQN the
 * spec names is the well-known discovery NQN, which is neither a host's nor a volume's.
 *
 * Narrower than the spec on purpose, and exactly as narrow as the strictest of the checks this module
 * replaced (the RouterOS command validator): the date is ASCII digits, the domain lower-case ASCII
 * letters, digits, '.' and '-', and the string after the colon ASCII letters, digits, '.', '_', ':' and
 * '-' — so an NQN is harmless as a RouterOS value, an nvme-cli argument (nvme-cli splits at commas),
 * a log field and a file name. Linux (drivers/nvme/host/fabrics.c, nvmf_parse_options) checks only
 * the length, and refuses strlen >= NVMF_NQN_SIZE (223), i.e. one byte less than the spec allows; that
 * difference is left to the kernel to report, since our own NQNs are far shorter.
 */
const NQN_PREFIX = /^nqn\.\d{4}-\d{2}\.[a-z0-9.-]+$/;
const NQN = /^nqn\.\d{4}-\d{2}\.[a-z0-9.-]+:[A-Za-z0-9._:-]+$/;

export const MAX_NQN_BYTES = 223;

/** Why `value` is not an NQN (a rule, e.g. "must be at most 223 bytes"), or undefined when it is one. */
export function nqnProblem(value: string): string | undefined {
  if (Buffer.byteLength(value, "utf8") > MAX_NQN_BYTES) return `must be at most ${MAX_NQN_BYTES} bytes`;
  if (!NQN.test(value)) return "must look like nqn.yyyy-mm.reverse.domain:name";
  return undefined;
}

export function isNqn(value: string): boolean {
  return nqnProblem(value) === undefined;
}

/**
 * `value` when it is an NQN; otherwise InvalidArgumentError `invalid <kind> "<value>": <rule>`, the
 * value escaped and truncated so the message is safe to log and to return to a CSI caller.
 */
export function validateNqnOf(kind: string, value: string): string {
  const problem = nqnProblem(value);
  if (problem !== undefined) throw new InvalidArgumentError(`invalid ${kind} "${printableExcerpt(value)}": ${problem}`);
  return value;
}

/** The part before the colon (`nqn.yyyy-mm.reverse-domain`), as configured for volume export NQNs. */
export function isNqnPrefix(value: string): boolean {
  return NQN_PREFIX.test(value);
}
