import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import { NotFoundError } from "@rds-csi/core";
import { kubeRequest, type EventSubject } from "@rds-csi/core/k8s";

/** Finds the PersistentVolumeClaim a volume's events belong on: the object a user runs `kubectl describe` on. */
export interface ClaimLookup {
  /** The claim bound to this driver's PV whose CSI volume handle is `volumeId`; undefined when there is no such PV or it is unbound. */
  ofVolume(volumeId: string, signal: AbortSignal): Promise<EventSubject | undefined>;
  /** The named claim with its uid; undefined when it does not exist. */
  named(namespace: string, name: string, signal: AbortSignal): Promise<EventSubject | undefined>;
}

/** A ClaimLookup over direct API reads, each with kubeRequest's deadline. */
export class KubeClaimLookup implements ClaimLookup {
  readonly #api: CoreV1Api;
  readonly #driverName: string;

  constructor(options: { kubeConfig: KubeConfig; driverName: string }) {
    this.#api = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#driverName = options.driverName;
  }

  // A list, not a get: a static PV's name need not be its volume handle, and PVs have no field selector
  // on the handle. It runs once per expansion, which is rare.
  async ofVolume(volumeId: string, signal: AbortSignal): Promise<EventSubject | undefined> {
    const volumes = await kubeRequest("list PersistentVolumes", signal, (options) => this.#api.listPersistentVolume({}, options));
    const volume = volumes.items.find((item) => item.spec?.csi?.driver === this.#driverName && item.spec.csi.volumeHandle === volumeId);
    const claim = volume?.spec?.claimRef;
    if (!claim?.namespace || !claim.name) return undefined;
    return claimSubject(claim.namespace, claim.name, claim.uid);
  }

  // The uid matters: `kubectl describe pvc` selects events by involvedObject.uid, so an event without it
  // would show only in `kubectl get events`.
  async named(namespace: string, name: string, signal: AbortSignal): Promise<EventSubject | undefined> {
    try {
      const claim = await kubeRequest(`get PersistentVolumeClaim ${namespace}/${name}`, signal, (options) =>
        this.#api.readNamespacedPersistentVolumeClaim({ namespace, name }, options),
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
