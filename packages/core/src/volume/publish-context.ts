import { InvalidArgumentError } from "../errors.js";
import { validateNqnOf } from "../nvme/nqn.js";

/**
 * The keys of ControllerPublishVolume's publish_context: what the node needs to connect to the
 * export. The controller writes them with `buildPublishContext`, the node plugin reads them with
 * `parsePublishContext`; both import these names, so a key cannot be written that nobody reads (the
 * earlier driver's `nvme_address` / `nvme_port` / `nvme_nqn` were never read by its node).
 */
export const PUBLISH_CONTEXT_KEYS = Object.freeze({
  /** IP address or host name of the RDS's NVMe/TCP portal */
  address: "nvme_address",
  /** TCP port of the export, decimal */
  port: "nvme_port",
  /** subsystem NQN of the volume's export */
  nqn: "nvme_nqn",
});

export interface PublishTarget {
  readonly address: string;
  readonly port: number;
  readonly nqn: string;
}

export function buildPublishContext(target: PublishTarget): Record<string, string> {
  return {
    [PUBLISH_CONTEXT_KEYS.address]: target.address,
    [PUBLISH_CONTEXT_KEYS.port]: String(target.port),
    [PUBLISH_CONTEXT_KEYS.nqn]: target.nqn,
  };
}

/** Reads a publish_context; InvalidArgumentError names the first key that is missing or malformed. */
export function parsePublishContext(context: Readonly<Record<string, string>>): PublishTarget {
  const field = (key: string): string => {
    const value = context[key];
    if (value === undefined || value === "") throw new InvalidArgumentError(`publish_context is missing "${key}"`);
    return value;
  };
  const address = field(PUBLISH_CONTEXT_KEYS.address);
  const rawPort = field(PUBLISH_CONTEXT_KEYS.port);
  const port = /^\d{1,5}$/.test(rawPort) ? Number(rawPort) : Number.NaN;
  if (!(port >= 1 && port <= 65535)) {
    throw new InvalidArgumentError(`publish_context "${PUBLISH_CONTEXT_KEYS.port}" must be a port from 1 to 65535, got "${rawPort}"`);
  }
  // The grammar the controller's NQNs are written in: a malformed one is refused here, before the node
  // takes the volume's lock or hands it to nvme-cli (which would split it at a comma).
  const nqn = field(PUBLISH_CONTEXT_KEYS.nqn);
  try {
    validateNqnOf("NQN", nqn);
  } catch (err) {
    throw new InvalidArgumentError(`publish_context "${PUBLISH_CONTEXT_KEYS.nqn}": ${(err as Error).message}`);
  }
  return { address, port, nqn };
}
