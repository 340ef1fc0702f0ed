import { KubeConfig } from "@kubernetes/client-node";
import { KubeClient, KubeConnection } from "@rds-csi/core/k8s";

/** The fake API server accepts any bearer token; both clients send this one. */
const TOKEN = "t";

/**
 * A KubeConfig for @kubernetes/client-node that talks to `server` (the fake API server's URL) over
 * plain HTTP with a bearer token. client-node only allows an `http:` server with `skipTLSVerify`.
 */
export function fakeKubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "u", token: TOKEN }],
    contexts: [{ name: "fake", cluster: "fake", user: "u" }],
    currentContext: "fake",
  });
  return kc;
}

/**
 * The services' own KubeClient (core/k8s) pointed at `server`, sending `userAgent` (what the fake's
 * `apiCalls()` groups by); close its connection when done.
 */
export function fakeKubeClient(server: string, userAgent = "rds-csi-test"): KubeClient {
  return new KubeClient(new KubeConnection({ server, token: () => Promise.resolve(TOKEN), userAgent }));
}
