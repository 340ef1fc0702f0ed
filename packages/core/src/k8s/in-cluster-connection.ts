import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { KubeConnection, type KubeConnectionOptions } from "./kube-connection.js";

/** Where Kubernetes mounts a pod's service-account token and the cluster's CA. */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** The kubelet refreshes a bound token well before it expires; re-reading it this often is enough (client-go reads it every minute). */
const TOKEN_REREAD_MS = 60_000;

/**
 * The connection of a pod: the API server from the environment Kubernetes sets, the service
 * account's CA and token from their mounted files. Fails at start-up, naming what is missing, rather
 * than failing every later call.
 */
export async function inClusterConnection(
  env: NodeJS.ProcessEnv = process.env,
  dir: string = SERVICE_ACCOUNT_DIR,
  identity: Pick<KubeConnectionOptions, "userAgent"> = {},
): Promise<KubeConnection> {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new InvalidArgumentError(
      "--kubeconfig=in-cluster needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT, which Kubernetes sets in a pod; outside a cluster give a kubeconfig path",
    );
  }
  const tokenFile = join(dir, "token");
  const [ca] = await Promise.all([readServiceAccountFile(join(dir, "ca.crt")), readServiceAccountFile(tokenFile)]);
  return new KubeConnection({ server: `https://${host.includes(":") ? `[${host}]` : host}:${port}`, ca, token: rereadEvery(tokenFile, TOKEN_REREAD_MS), ...identity });
}

async function readServiceAccountFile(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (err) {
    throw new InvalidArgumentError(`--kubeconfig=in-cluster: cannot read ${path} (is a service account token mounted?): ${(err as Error).message}`, { cause: err });
  }
}

/** The file's trimmed content, read again once `intervalMs` passed; a failed re-read keeps the last token. */
function rereadEvery(path: string, intervalMs: number): () => Promise<string | undefined> {
  let token: string | undefined;
  let readAt = Number.NEGATIVE_INFINITY;
  return async () => {
    if (Date.now() - readAt >= intervalMs) {
      try {
        token = (await readFile(path, "utf8")).trim();
        readAt = Date.now();
      } catch {
        // Kubelet swaps the file atomically, so a failure is transient; the old token may still be valid.
      }
    }
    return token;
  };
}
