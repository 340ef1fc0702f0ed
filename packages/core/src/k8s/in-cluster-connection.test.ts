import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { inClusterConnection } from "./in-cluster-connection.js";

describe("inClusterConnection", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "service-account-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const env = { KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" };

  it("reaches the API server the pod's environment names, over https", async () => {
    await writeFile(join(dir, "ca.crt"), "-----BEGIN CERTIFICATE-----\n");
    await writeFile(join(dir, "token"), "t\n");
    const connection = await inClusterConnection(env, dir);
    expect(connection.server.href).toBe("https://10.96.0.1/");
    connection.close();
    const v6 = await inClusterConnection({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "6443" }, dir);
    expect(v6.server.href).toBe("https://[fd00::1]:6443/");
    v6.close();
  });

  it("refuses to start outside a pod or without a mounted service account, naming what is missing", async () => {
    await expect(inClusterConnection({}, dir)).rejects.toThrow(/KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT/);
    const missing = inClusterConnection(env, dir);
    await expect(missing).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(missing).rejects.toThrow(`--kubeconfig=in-cluster: cannot read ${join(dir, "ca.crt")} (is a service account token mounted?)`);
  });
});
