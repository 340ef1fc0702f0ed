import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { kubeRequest } from "./kube-request.js";
import { kubeconfigFileConnection } from "./kubeconfig-file.js";

describe("kubeconfigFileConnection", () => {
  let dir: string;
  let server: Server;
  let url: string;
  const seenTokens: (string | undefined)[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      seenTokens.push(request.headers.authorization);
      response.writeHead(200, { "content-type": "application/json" });
      response.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kubeconfig-"));
    seenTokens.length = 0;
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const write = async (name: string, lines: string[]): Promise<string> => {
    const path = join(dir, name);
    await writeFile(path, lines.join("\n"));
    return path;
  };
  const config = (cluster: string, user: string): string[] => [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: other",
    "  cluster: {server: 'https://wrong.example'}",
    `- name: c`,
    `  cluster: ${cluster}`,
    "users:",
    `- name: u`,
    `  user: ${user}`,
    "contexts: [{name: x, context: {cluster: c, user: u}}, {name: y, context: {cluster: other, user: u}}]",
    "current-context: x",
  ];

  it("uses the current context's cluster and the user's token", async () => {
    const path = await write("config", config(`{server: '${url}/'}`, "{token: abc}"));
    const connection = await kubeconfigFileConnection(path);
    await kubeRequest(connection, "read Node n1", { method: "GET", path: "/api/v1/nodes/n1" }, new AbortController().signal);
    expect(seenTokens).toEqual(["Bearer abc"]);
    connection.close();
  });

  it("reads a tokenFile relative to the kubeconfig, on every request", async () => {
    await writeFile(join(dir, "token"), "first\n");
    const path = await write("config", config(`{server: '${url}'}`, "{tokenFile: token}"));
    const connection = await kubeconfigFileConnection(path);
    const read = () => kubeRequest(connection, "read Node n1", { method: "GET", path: "/api/v1/nodes/n1" }, new AbortController().signal);
    await read();
    await writeFile(join(dir, "token"), "second\n");
    await read();
    expect(seenTokens).toEqual(["Bearer first", "Bearer second"]);
    connection.close();
  });

  it("reads the JSON that client-node's exportConfig writes", async () => {
    const path = join(dir, "exported");
    await writeFile(
      path,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: "fake", cluster: { server: url, "insecure-skip-tls-verify": true } }],
        users: [{ name: "u", user: { token: "t" } }],
        contexts: [{ name: "fake", context: { cluster: "fake", user: "u" } }],
        "current-context": "fake",
      }),
    );
    const connection = await kubeconfigFileConnection(path);
    expect(connection.server.href).toBe(`${url}/`);
    connection.close();
  });

  it("names the file and what is wrong with it", async () => {
    const missing = join(dir, "missing");
    await expect(kubeconfigFileConnection(missing)).rejects.toThrow(new RegExp(`^--kubeconfig ${missing}: ENOENT`));
    const empty = await write("empty", ["apiVersion: v1", "kind: Config", "clusters: []", "users: []", "contexts: []"]);
    await expect(kubeconfigFileConnection(empty)).rejects.toThrow(`--kubeconfig ${empty}: no current-context`);
    const dangling = await write("dangling", ["contexts: [{name: x, context: {cluster: gone, user: u}}]", "current-context: x"]);
    await expect(kubeconfigFileConnection(dangling)).rejects.toThrow(`--kubeconfig ${dangling}: the current context names no cluster`);
    const plugin = await write("plugin", config(`{server: '${url}'}`, "{exec: {command: aws}}"));
    const refused = kubeconfigFileConnection(plugin);
    await expect(refused).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(refused).rejects.toThrow(`--kubeconfig ${plugin}: user u: "exec" credentials are not supported; use a token or a client certificate`);
    const proxied = await write("proxied", config(`{server: '${url}', proxy-url: 'http://proxy:3128', tls-server-name: api.example}`, "{token: t}"));
    await expect(kubeconfigFileConnection(proxied)).rejects.toThrow(`--kubeconfig ${proxied}: cluster c: "proxy-url", "tls-server-name" not supported by this client; remove them`);
    const impersonating = await write("impersonating", config(`{server: '${url}', extensions: []}`, "{token: t, as: admin}"));
    await expect(kubeconfigFileConnection(impersonating)).rejects.toThrow(`--kubeconfig ${impersonating}: user u: "as" not supported by this client; remove it`);
    const both = await write("both", [
      "clusters: [{name: c, cluster: {server: 'https://k8s.example', certificate-authority-data: Q0E=, insecure-skip-tls-verify: true}}]",
      "users: [{name: u, user: {token: t}}]",
      "contexts: [{name: x, context: {cluster: c, user: u}}]",
      "current-context: x",
    ]);
    await expect(kubeconfigFileConnection(both)).rejects.toThrow(`--kubeconfig ${both}: the cluster sets both a certificate authority and insecure-skip-tls-verify; remove one`);
    const cleartext = await write("cleartext", config(`{server: 'http://k8s.example:8080'}`, "{token: t}"));
    await expect(kubeconfigFileConnection(cleartext)).rejects.toThrow(`--kubeconfig ${cleartext}: the API server http://k8s.example:8080 is plain http:`);
    const noCa = await write("no-ca", config(`{server: 'https://k8s.example', certificate-authority: ca.pem}`, "{token: t}"));
    await expect(kubeconfigFileConnection(noCa)).rejects.toThrow(new RegExp(`^--kubeconfig ${noCa}: certificate-authority ca.pem: ENOENT`));
    const yaml = await write("broken", ["clusters: [", "  - : :"]);
    await expect(kubeconfigFileConnection(yaml)).rejects.toThrow(/: not YAML: /);
  });
});
