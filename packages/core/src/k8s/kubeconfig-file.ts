import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { KubeConnection, type KubeConnectionOptions } from "./kube-connection.js";

/**
 * The connection a kubeconfig file's current context describes (development, tests, a controller run
 * outside the cluster). Understood: the cluster's `server`, CA (`certificate-authority[-data]`) and
 * `insecure-skip-tls-verify`; the user's `token`, `tokenFile` and client certificate
 * (`client-certificate[-data]`, `client-key[-data]`). Any other key of the cluster or user is refused
 * by name at start-up rather than silently ignored (a `proxy-url` not used, a `tls-server-name` not
 * checked): credential plugins (`exec`, `auth-provider`), basic auth, impersonation (`as*`), proxies,
 * `tls-server-name`. Ignored on purpose: `extensions` (information for tools), `disable-compression`
 * (this client never asks for compression), the context's `namespace` (each service names its own).
 */
export async function kubeconfigFileConnection(path: string, identity: Pick<KubeConnectionOptions, "userAgent"> = {}): Promise<KubeConnection> {
  const fail = (message: string, cause?: unknown): InvalidArgumentError =>
    new InvalidArgumentError(`--kubeconfig ${path}: ${message}`, cause === undefined ? undefined : { cause });
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw fail((err as Error).message, err);
  }
  // Loaded here only: in a pod (in-cluster) no YAML is ever read, and the parser's memory is not paid for.
  const { load } = await import("js-yaml");
  let config: unknown;
  try {
    config = load(text);
  } catch (err) {
    throw fail(`not YAML: ${(err as Error).message}`, err);
  }
  const base = dirname(path);
  const contextName = field(config, "current-context");
  if (typeof contextName !== "string" || contextName === "") throw fail("no current-context");
  const context = named(config, "contexts", contextName, "context");
  if (!context) throw fail(`the current context ${contextName} is not defined`);
  const clusterName = field(context, "cluster");
  const cluster = typeof clusterName === "string" ? named(config, "clusters", clusterName, "cluster") : undefined;
  if (!cluster) throw fail("the current context names no cluster");
  const server = field(cluster, "server");
  if (typeof server !== "string") throw fail(`cluster ${String(clusterName)} has no server`);
  const userName = field(context, "user");
  const user = typeof userName === "string" ? (named(config, "users", userName, "user") ?? {}) : {};
  for (const unsupported of ["exec", "auth-provider", "username", "password"]) {
    if (field(user, unsupported) !== undefined) throw fail(`user ${String(userName)}: "${unsupported}" credentials are not supported; use a token or a client certificate`);
  }
  const unknownCluster = unknownKeys(cluster, CLUSTER_KEYS);
  if (unknownCluster.length > 0) throw fail(`cluster ${String(clusterName)}: ${quoted(unknownCluster)} not supported by this client; remove ${unknownCluster.length > 1 ? "them" : "it"}`);
  const unknownUser = unknownKeys(user, USER_KEYS);
  if (unknownUser.length > 0) throw fail(`user ${String(userName)}: ${quoted(unknownUser)} not supported by this client; remove ${unknownUser.length > 1 ? "them" : "it"}`);

  const fileOrData = async (key: string): Promise<Buffer | undefined> => {
    const data = field(cluster, `${key}-data`) ?? field(user, `${key}-data`);
    if (typeof data === "string") return Buffer.from(data, "base64");
    const file = field(cluster, key) ?? field(user, key);
    if (typeof file !== "string") return undefined;
    try {
      return await readFile(resolve(base, file));
    } catch (err) {
      throw fail(`${key} ${file}: ${(err as Error).message}`, err);
    }
  };
  const [ca, clientCertificate, clientKey] = await Promise.all([fileOrData("certificate-authority"), fileOrData("client-certificate"), fileOrData("client-key")]);
  const token = field(user, "token");
  const tokenFile = field(user, "tokenFile");
  const insecureSkipTlsVerify = field(cluster, "insecure-skip-tls-verify") === true;
  // As kubectl: a CA that would silently not be checked is a mistake in the file, not a choice.
  if (insecureSkipTlsVerify && ca !== undefined) throw fail("the cluster sets both a certificate authority and insecure-skip-tls-verify; remove one");
  try {
    return new KubeConnection({
      server,
      ca,
      clientCertificate,
      clientKey,
      insecureSkipTlsVerify,
      ...identity,
      ...(typeof token === "string"
        ? { token: () => Promise.resolve(token) }
        : typeof tokenFile === "string"
          ? { token: async () => (await readFile(resolve(base, tokenFile), "utf8")).trim() }
          : {}),
    });
  } catch (err) {
    throw fail((err as Error).message, err);
  }
}

const CLUSTER_KEYS = new Set(["server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify", "disable-compression", "extensions"]);
const USER_KEYS = new Set(["token", "tokenFile", "client-certificate", "client-certificate-data", "client-key", "client-key-data", "extensions"]);

function unknownKeys(value: unknown, known: ReadonlySet<string>): string[] {
  return typeof value === "object" && value !== null ? Object.keys(value).filter((key) => !known.has(key)) : [];
}

function quoted(keys: readonly string[]): string {
  return keys.map((key) => `"${key}"`).join(", ");
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The `inner` object of the entry called `name` in the list `list` (kubeconfig's `{name, cluster: {...}}` shape). */
function named(config: unknown, list: string, name: string, inner: string): unknown {
  const entries = field(config, list);
  if (!Array.isArray(entries)) return undefined;
  return field(
    entries.find((entry) => field(entry, "name") === name),
    inner,
  );
}
