import { isAbsolute } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Setting } from "../config/settings.js";
import { InvalidArgumentError } from "../errors.js";

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
 * Loads the KubeConfig for `source`. client-node's `loadFromCluster` does not check that it runs in a
 * pod, and would later fail every call against `https://undefined:undefined`; this fails at start-up
 * instead, naming what is missing.
 */
export function loadKubeConfig(source: KubeConfigSource): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (source.kind === IN_CLUSTER) {
    // loadFromCluster reads these from process.env itself.
    if (!process.env.KUBERNETES_SERVICE_HOST || !process.env.KUBERNETES_SERVICE_PORT) {
      throw new InvalidArgumentError(
        "--kubeconfig=in-cluster needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which Kubernetes sets in a pod; outside a cluster give a kubeconfig path",
      );
    }
    kubeConfig.loadFromCluster();
    return kubeConfig;
  }
  try {
    kubeConfig.loadFromFile(source.path);
  } catch (err) {
    throw new InvalidArgumentError(`--kubeconfig ${source.path}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!kubeConfig.getCurrentCluster()) {
    throw new InvalidArgumentError(`--kubeconfig ${source.path}: the current context names no cluster`);
  }
  return kubeConfig;
}
