import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { NotFoundError } from "../errors.js";
import { KubeClient } from "./kube-client.js";
import { KubeConnection } from "./kube-connection.js";

describe("KubeClient.list", () => {
  let server: Server;
  let client: KubeClient;
  let requests: URLSearchParams[];
  /** answers by `continue` token: [status, body] */
  let pages: Map<string, [number, object]>;

  beforeEach(async () => {
    requests = [];
    server = createServer((request, response) => {
      const query = new URL(request.url ?? "/", "http://x").searchParams;
      requests.push(query);
      const [status, body] = pages.get(query.has("limit") ? (query.get("continue") ?? "") : "unpaged") ?? [500, {}];
      response.writeHead(status, { "content-type": "application/json" });
      response.end(JSON.stringify(body));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    client = new KubeClient(new KubeConnection({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });

  afterEach(async () => {
    client.connection.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const item = (name: string) => ({ metadata: { name } });
  const never = new AbortController().signal;

  it("follows continue tokens and returns every item with the snapshot's resourceVersion", async () => {
    pages = new Map<string, [number, object]>([
      ["", [200, { metadata: { resourceVersion: "7", continue: "p2" }, items: [item("a")] }]],
      ["p2", [200, { metadata: { resourceVersion: "7" }, items: [item("b")] }]],
    ]);
    const list = await client.list("list PersistentVolumes", "/api/v1/persistentvolumes", never, { labelSelector: "x=y" });
    expect(list.items.map((object) => object.metadata?.name)).toEqual(["a", "b"]);
    expect(list.metadata?.resourceVersion).toBe("7");
    expect(requests.map((query) => Object.fromEntries(query))).toEqual([
      { labelSelector: "x=y", limit: "500" },
      { labelSelector: "x=y", limit: "500", continue: "p2" },
    ]);
  });

  it("starts over in one piece when the continue token expired, and classifies other failures", async () => {
    pages = new Map<string, [number, object]>([
      ["", [200, { metadata: { resourceVersion: "7", continue: "p2" }, items: [item("a")] }]],
      ["p2", [410, { kind: "Status", code: 410, message: "the provided continue parameter is too old" }]],
      ["unpaged", [200, { metadata: { resourceVersion: "9" }, items: [item("a"), item("c")] }]],
    ]);
    const list = await client.list("list PersistentVolumes", "/api/v1/persistentvolumes", never);
    expect(list.items.map((object) => object.metadata?.name)).toEqual(["a", "c"]);
    expect(list.metadata?.resourceVersion).toBe("9");

    pages = new Map<string, [number, object]>([["", [404, { kind: "Status", message: "the server could not find the requested resource" }]]]);
    await expect(client.list("list Things", "/apis/x/v1/things", never)).rejects.toBeInstanceOf(NotFoundError);
  });
});
