import { ApiException, CoordinationV1Api, CoreV1Api, StorageV1Api, type KubeConfig } from "@kubernetes/client-node";
import { DEFAULT_NAMESPACES, startFakeApiServer, type FakeApiServer, type FakeApiServerOptions } from "../fake-apiserver.js";
import type { KubeStatus } from "../status.js";

/** A fake API server and the real client-node clients pointed at it. */
export interface FakeCluster {
  readonly server: FakeApiServer;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly storage: StorageV1Api;
  readonly coordination: CoordinationV1Api;
}

/** The namespaces these tests create objects in, besides a new cluster's own. */
export const TEST_NAMESPACES = [...DEFAULT_NAMESPACES, "a", "b", "ns", "other", "elsewhere"];

export async function startFakeCluster(options: FakeApiServerOptions = {}): Promise<FakeCluster> {
  const server = await startFakeApiServer({ namespaces: TEST_NAMESPACES, ...options });
  const kc = server.kubeConfig();
  return {
    server,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    storage: kc.makeApiClient(StorageV1Api),
    coordination: kc.makeApiClient(CoordinationV1Api),
  };
}

/** The HTTP status and the decoded `Status` body a client-node call failed with. */
export async function apiFailure(call: Promise<unknown>): Promise<{ code: number; status: KubeStatus; headers: Record<string, string> }> {
  try {
    await call;
  } catch (err) {
    if (err instanceof ApiException) {
      return { code: err.code, status: JSON.parse(String(err.body)) as KubeStatus, headers: err.headers as Record<string, string> };
    }
    throw err;
  }
  throw new Error("expected the call to fail");
}

/** Polls `check` until it stops throwing, for at most `timeoutMs`. */
export async function eventually(check: () => void, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}
