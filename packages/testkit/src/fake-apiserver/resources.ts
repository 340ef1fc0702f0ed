/** The kinds the fake API server serves. */
export type ResourceKind =
  | "Node"
  | "Pod"
  | "PersistentVolume"
  | "PersistentVolumeClaim"
  | "Event"
  | "VolumeAttachment"
  | "CSINode"
  | "Lease";

/** How the real API server stores and serves one resource, as far as the fake models it. */
export interface ResourceDefinition {
  readonly kind: ResourceKind;
  /** "" for the core group */
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Has a `/status` subresource: the main endpoint ignores status, `/status` changes nothing else. */
  readonly statusSubresource: boolean;
  /** The create strategy drops a client-supplied status (VolumeAttachment). */
  readonly clearsStatusOnCreate: boolean;
  /** DELETE answers with the deleted object; otherwise with a Success `Status` (as client-node's return types say). */
  readonly returnsDeletedObject: boolean;
  /** Field selector labels beyond `metadata.name` and `metadata.namespace`. */
  readonly selectableFields: readonly string[];
  /** The strategy's AllowUnconditionalUpdate: a PUT without `metadata.resourceVersion` is accepted. */
  readonly allowUnconditionalUpdate: boolean;
  /** The update validation refuses any change of `spec` (ValidateVolumeAttachmentUpdate). */
  readonly immutableSpec: boolean;
  /**
   * Top-level fields whose Go type is a struct (k8s.io/api <group>/v1 types.go: `Spec NodeSpec`,
   * `Status NodeStatus`, …): always present in what the server serves, `{}` when empty.
   */
  readonly structFields: readonly string[];
  /** Fields of type metav1.MicroTime (decoded with layout RFC3339Micro: exactly six fractional digits). */
  readonly microTimeFields: readonly (readonly string[])[];
}

// Traits from kubernetes/kubernetes v1.33 pkg/registry/<group>/<resource>/strategy.go and storage.go:
// PrepareForUpdate copying the old status (a status subresource), AllowUnconditionalUpdate, the field
// label conversions registered in pkg/apis/<group>/v1/conversion.go (VolumeAttachment registers none:
// only metadata.name / metadata.namespace are selectable), and which fields are metav1.MicroTime.
const definitions: readonly ResourceDefinition[] = [
  resource("Node", "", "nodes", { namespaced: false, statusSubresource: true, returnsDeletedObject: false, selectableFields: ["spec.unschedulable"], structFields: ["spec", "status"] }),
  resource("Pod", "", "pods", {
    namespaced: true,
    statusSubresource: true,
    returnsDeletedObject: true,
    selectableFields: ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName", "status.phase", "status.podIP", "status.nominatedNodeName"],
    structFields: ["spec", "status"],
  }),
  resource("PersistentVolume", "", "persistentvolumes", { namespaced: false, statusSubresource: true, returnsDeletedObject: true, structFields: ["spec", "status"] }),
  resource("PersistentVolumeClaim", "", "persistentvolumeclaims", { namespaced: true, statusSubresource: true, returnsDeletedObject: true, structFields: ["spec", "status"] }),
  resource("Event", "", "events", {
    namespaced: true,
    returnsDeletedObject: false,
    selectableFields: ["involvedObject.kind", "involvedObject.name", "involvedObject.namespace", "involvedObject.uid", "reason", "type"],
    microTimeFields: [["eventTime"]],
  }),
  resource("VolumeAttachment", "storage.k8s.io", "volumeattachments", {
    namespaced: false,
    statusSubresource: true,
    clearsStatusOnCreate: true,
    returnsDeletedObject: true,
    allowUnconditionalUpdate: false,
    immutableSpec: true,
  }),
  resource("CSINode", "storage.k8s.io", "csinodes", { namespaced: false, returnsDeletedObject: true, allowUnconditionalUpdate: false, structFields: ["spec"] }),
  resource("Lease", "coordination.k8s.io", "leases", {
    namespaced: true,
    structFields: ["spec"],
    returnsDeletedObject: false,
    allowUnconditionalUpdate: false,
    microTimeFields: [
      ["spec", "acquireTime"],
      ["spec", "renewTime"],
    ],
  }),
];

function resource(
  kind: ResourceKind,
  group: string,
  plural: string,
  traits: Partial<Omit<ResourceDefinition, "kind" | "group" | "plural" | "version">> & Pick<ResourceDefinition, "namespaced" | "returnsDeletedObject">,
): ResourceDefinition {
  return {
    kind,
    group,
    version: "v1",
    plural,
    statusSubresource: false,
    clearsStatusOnCreate: false,
    selectableFields: [],
    allowUnconditionalUpdate: true,
    immutableSpec: false,
    microTimeFields: [],
    structFields: [],
    ...traits,
  };
}

export function resourceByKind(kind: ResourceKind): ResourceDefinition {
  const found = definitions.find((d) => d.kind === kind);
  if (found === undefined) throw new Error(`unknown kind ${String(kind)}`);
  return found;
}

export function resourceByPath(group: string, version: string, plural: string): ResourceDefinition | undefined {
  return definitions.find((d) => d.group === group && d.version === version && d.plural === plural);
}

/** `v1` or `storage.k8s.io/v1`. */
export function apiVersionOf(def: ResourceDefinition): string {
  return def.group === "" ? def.version : `${def.group}/${def.version}`;
}

/** The resource as error messages name it: `pods`, `volumeattachments.storage.k8s.io`. */
export function qualifiedResource(def: ResourceDefinition): string {
  return def.group === "" ? def.plural : `${def.plural}.${def.group}`;
}
