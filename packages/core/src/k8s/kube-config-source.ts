import { isAbsolute } from "node:path";
import type { Setting } from "../config/settings.js";
import { inClusterConnection } from "./in-cluster-connection.js";
import type { KubeConnection } from "./kube-connection.js";
import { kubeconfigFileConnection } from "./kubeconfig-file.js";

/** Where a service finds the API server: the pod's service account, or a kubeconfig file (development, tests). */
export type KubeConfigSource = { readonly kind: "in-cluster" } | { readonly kind: "file"; readonly path: string };

const IN_CLUSTER = "in-cluster";

/**
 * The `--kubeconfig` setting every service that talks to the API server declares. Its default is the
 * pod's service account; a path selects a kubeconfig file. KUBECONFIG's colon-separated list form is
 * refused: merging several files silently picks a context, and the operator should name one file.
 */
export function kubeConfigSetting(): Setting<KubeConfigSource> {
  return {
    flag: "kubeconfig",
    env: "KUBECONFIG",
    description: `how to reach the Kubernetes API server: "${IN_CLUSTER}" (the pod's service account) or the absolute path of a kubeconfig file`,
    default: { kind: IN_CLUSTER },
    hint: `${IN_CLUSTER}|path`,
    parse(raw: string): KubeConfigSource {
      if (raw === IN_CLUSTER) return { kind: IN_CLUSTER };
      if (raw.includes(":")) throw new Error("must be one kubeconfig file, not a list");
      if (!isAbsolute(raw)) throw new Error(`must be "${IN_CLUSTER}" or an absolute path`);
      return { kind: "file", path: raw };
    },
    format: (source: KubeConfigSource): string => (source.kind === IN_CLUSTER ? IN_CLUSTER : source.path),
  };
}

/**
 * The connection `source` describes; InvalidArgumentError naming the setting when it cannot be made.
 * `userAgent` names the service in the API server's audit log.
 */
export function loadKubeConnection(source: KubeConfigSource, userAgent: string): Promise<KubeConnection> {
  return source.kind === IN_CLUSTER ? inClusterConnection(process.env, undefined, { userAgent }) : kubeconfigFileConnection(source.path, { userAgent });
}
