import { ConfigMap, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { DaemonSet, Deployment } from "kubernetes-models/apps/v1";
import { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { CSIDriver, StorageClass } from "kubernetes-models/storage.k8s.io/v1";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import type { KubeDoc } from "./helm.js";

type Model = new (data: never) => { validate(): void };

/** The OpenAPI-schema models (kubernetes-models 4.x, Kubernetes 1.3x; prometheus-operator CRDs) by apiVersion/kind. */
const MODELS: Readonly<Record<string, Model>> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "apps/v1/DaemonSet": DaemonSet,
  "apps/v1/Deployment": Deployment,
  "rbac.authorization.k8s.io/v1/ClusterRole": ClusterRole,
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding": ClusterRoleBinding,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "storage.k8s.io/v1/CSIDriver": CSIDriver,
  "storage.k8s.io/v1/StorageClass": StorageClass,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

/**
 * VolumeSnapshotClass has no model package; its v1 CRD (external-snapshotter
 * client/config/crd/snapshot.storage.k8s.io_volumesnapshotclasses.yaml) requires driver and
 * deletionPolicy (Delete|Retain), allows parameters (string map), and has nothing else at the top.
 */
function validateVolumeSnapshotClass(doc: KubeDoc): void {
  const allowed = new Set(["apiVersion", "kind", "metadata", "driver", "deletionPolicy", "parameters"]);
  const extra = Object.keys(doc).filter((key) => !allowed.has(key));
  if (extra.length > 0) throw new Error(`unknown fields ${extra.join(", ")}`);
  if (typeof doc.driver !== "string" || doc.driver === "") throw new Error("driver must be a non-empty string");
  if (doc.deletionPolicy !== "Delete" && doc.deletionPolicy !== "Retain") throw new Error("deletionPolicy must be Delete or Retain");
}

/** Throws naming the object and the schema violation; an object of a kind without a schema is a failure too. */
export function validateAgainstSchema(doc: KubeDoc): void {
  const key = `${doc.apiVersion}/${doc.kind}`;
  try {
    if (key === "snapshot.storage.k8s.io/v1/VolumeSnapshotClass") return validateVolumeSnapshotClass(doc);
    const model = MODELS[key];
    if (!model) throw new Error("no schema known for this kind");
    new model(doc as never).validate();
  } catch (err) {
    throw new Error(`${key} ${doc.metadata.name}: ${(err as Error).message}`);
  }
}
