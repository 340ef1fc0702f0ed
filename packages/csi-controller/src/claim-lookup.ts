import { NotFoundError } from "@rds-csi/core";
import type { EventSubject, KubeClient, PersistentVolume, PersistentVolumeClaim } from "@rds-csi/core/k8s";

/** Finds the PersistentVolumeClaim a volume's events belong on: the object a user runs `kubectl describe` on. */
export interface ClaimLookup {
  /** The claim bound to this driver's PV whose CSI volume handle is `volumeId`; undefined when there is no such PV or it is unbound. */
  ofVolume(volumeId: string, signal: AbortSignal): Promise<EventSubject | undefined>;
  /** The named claim with its uid; undefined when it does not exist. */
  named(namespace: string, name: string, signal: AbortSignal): Promise<EventSubject | undefined>;
}

/** A ClaimLookup over direct API reads, each with the client's deadline. */
export class KubeClaimLookup implements ClaimLookup {
  readonly #client: KubeClient;
  readonly #driverName: string;

  constructor(options: { client: KubeClient; driverName: string }) {
    this.#client = options.client;
    this.#driverName = options.driverName;
  }

  // A list, not a get: a static PV's name need not be its volume handle, and PVs have no field selector
  // on the handle. It runs once per expansion, which is rare.
  async ofVolume(volumeId: string, signal: AbortSignal): Promise<EventSubject | undefined> {
    const volumes = await this.#client.list<PersistentVolume>("list PersistentVolumes", "/api/v1/persistentvolumes", signal);
    const volume = volumes.items.find((item) => item.spec?.csi?.driver === this.#driverName && item.spec.csi.volumeHandle === volumeId);
    const claim = volume?.spec?.claimRef;
    if (!claim?.namespace || !claim.name) return undefined;
    return claimSubject(claim.namespace, claim.name, claim.uid);
  }

  // The uid matters: `kubectl describe pvc` selects events by involvedObject.uid, so an event without it
  // would show only in `kubectl get events`.
  async named(namespace: string, name: string, signal: AbortSignal): Promise<EventSubject | undefined> {
    try {
      const claim = await this.#client.get<PersistentVolumeClaim>(
        `get PersistentVolumeClaim ${namespace}/${name}`,
        `/api/v1/namespaces/${encodeURIComponent(namespace)}/persistentvolumeclaims/${encodeURIComponent(name)}`,
        signal,
      );
      return claimSubject(namespace, name, claim.metadata?.uid);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }
}

function claimSubject(namespace: string, name: string, uid: string | undefined): EventSubject {
  return { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name, ...(uid ? { uid } : {}) };
}
