// The fields of the Kubernetes objects this driver reads or writes, as they arrive in JSON: no class
// instances and no Date conversion (timestamps stay RFC 3339 strings). Anything not listed here is
// still in the object; it is just not typed, because nothing reads it.

export interface ObjectMeta {
  readonly name?: string;
  readonly namespace?: string;
  readonly uid?: string;
  readonly resourceVersion?: string;
  readonly creationTimestamp?: string;
  readonly deletionTimestamp?: string;
  readonly finalizers?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface KubeObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: ObjectMeta;
}

export interface KubeList<T extends KubeObject> {
  readonly metadata?: { readonly resourceVersion?: string; readonly continue?: string };
  readonly items: T[];
}

export interface VolumeAttachment extends KubeObject {
  readonly spec: {
    readonly attacher: string;
    readonly nodeName: string;
    readonly source: {
      readonly persistentVolumeName?: string;
      readonly inlineVolumeSpec?: { readonly csi?: { readonly driver?: string; readonly volumeHandle?: string } };
    };
  };
  readonly status?: {
    readonly attached?: boolean;
    readonly attachmentMetadata?: Readonly<Record<string, string>>;
    readonly attachError?: VolumeError | null;
    readonly detachError?: VolumeError | null;
  };
}

/** storage/v1 VolumeError: `time` is a metav1.Time (RFC 3339, seconds). */
export interface VolumeError {
  readonly time?: string;
  readonly message?: string;
}

export interface PersistentVolume extends KubeObject {
  readonly spec?: {
    readonly accessModes?: readonly string[];
    readonly volumeMode?: string;
    readonly csi?: { readonly driver: string; readonly volumeHandle: string; readonly volumeAttributes?: Readonly<Record<string, string>> };
    readonly claimRef?: { readonly namespace?: string; readonly name?: string; readonly uid?: string };
  };
}

/** Read only for its uid and annotations. */
export type PersistentVolumeClaim = KubeObject;

/** core/v1 Taint. */
export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
  readonly timeAdded?: string;
}

/** Read for its annotations and taints. */
export interface KubeNode extends KubeObject {
  readonly spec?: { readonly taints?: readonly Taint[] };
}

/**
 * `allocatable.count` is the node plugin's NodeGetInfo max_volumes_per_node, which kubelet writes there
 * when it registers the driver and the value is above 0 (pkg/volume/csi/nodeinfomanager, installDriverToCSINode).
 */
export interface CsiNode extends KubeObject {
  readonly spec?: {
    readonly drivers?: readonly { readonly name: string; readonly nodeID?: string; readonly allocatable?: { readonly count?: number } }[];
  };
}
