import { KubeConfig } from "@kubernetes/client-node";

/**
 * A KubeConfig for @kubernetes/client-node that talks to `server` (the fake API server's URL) over
 * plain HTTP with a bearer token. client-node only allows an `http:` server with `skipTLSVerify`.
 */
export function fakeKubeConfig(server: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "fake", server, skipTLSVerify: true }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "fake", cluster: "fake", user: "u" }],
    currentContext: "fake",
  });
  return kc;
}
