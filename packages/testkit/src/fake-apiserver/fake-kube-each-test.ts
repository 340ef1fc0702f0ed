import type { KubeClient } from "@rds-csi/core/k8s";
import { startFakeApiServer, type FakeApiServer } from "./fake-apiserver.js";
import { fakeKubeClient } from "./kube-config.js";

/** A fake API server and the services' KubeClient to it. */
export interface FakeKube {
  readonly api: FakeApiServer;
  readonly client: KubeClient;
}

/**
 * For each test of the enclosing `describe`: a fresh fake API server and a KubeClient to it (sending
 * `userAgent`), started before the test; after it, the client's connection is closed and the server
 * stopped. Call at the top of a `describe` and read `api` and `client` inside its tests.
 */
export function fakeKubeEachTest(userAgent?: string): FakeKube {
  let current: FakeKube | undefined;
  const started = (): FakeKube => {
    if (current === undefined) throw new Error("the fake API server runs only inside a test of the describe that set it up");
    return current;
  };
  beforeEach(async () => {
    const api = await startFakeApiServer();
    current = { api, client: fakeKubeClient(api.url, userAgent) };
  });
  afterEach(async () => {
    const stopping = current;
    current = undefined;
    stopping?.client.connection.close();
    await stopping?.api.stop();
  });
  return {
    get api() {
      return started().api;
    },
    get client() {
      return started().client;
    },
  };
}
