import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { kubeConfigSetting, loadKubeConfig } from "./kube-client.js";

describe("kubeConfigSetting", () => {
  const setting = kubeConfigSetting();

  it("defaults to the pod's service account and accepts one absolute path", () => {
    expect(setting.default).toEqual({ kind: "in-cluster" });
    expect(setting.parse("in-cluster")).toEqual({ kind: "in-cluster" });
    expect(setting.parse("/etc/kube/config")).toEqual({ kind: "file", path: "/etc/kube/config" });
    expect(setting.format!({ kind: "file", path: "/etc/kube/config" })).toBe("/etc/kube/config");
    expect(setting.format!({ kind: "in-cluster" })).toBe("in-cluster");
  });

  it("refuses a relative path and a KUBECONFIG-style list", () => {
    expect(() => setting.parse("kubeconfig")).toThrow('must be "in-cluster" or an absolute path');
    expect(() => setting.parse("/a:/b")).toThrow("must be one kubeconfig file, not a list");
  });
});

describe("loadKubeConfig", () => {
  it("loads the service account in a pod and refuses to pretend outside one", () => {
    const saved = { host: process.env.KUBERNETES_SERVICE_HOST, port: process.env.KUBERNETES_SERVICE_PORT };
    try {
      process.env.KUBERNETES_SERVICE_HOST = "10.0.0.1";
      process.env.KUBERNETES_SERVICE_PORT = "443";
      expect(loadKubeConfig({ kind: "in-cluster" }).getCurrentCluster()?.server).toBe("https://10.0.0.1:443");
      delete process.env.KUBERNETES_SERVICE_HOST;
      expect(() => loadKubeConfig({ kind: "in-cluster" })).toThrow(InvalidArgumentError);
      expect(() => loadKubeConfig({ kind: "in-cluster" })).toThrow(/KUBERNETES_SERVICE_HOST/);
    } finally {
      for (const [key, value] of [["KUBERNETES_SERVICE_HOST", saved.host], ["KUBERNETES_SERVICE_PORT", saved.port]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    }
  });

  it("loads a kubeconfig file and names the file when it cannot", () => {
    const dir = mkdtempSync(join(tmpdir(), "kubeconfig-"));
    const good = join(dir, "config");
    writeFileSync(
      good,
      [
        "apiVersion: v1",
        "kind: Config",
        "clusters: [{name: c, cluster: {server: 'https://k8s.example:6443'}}]",
        "users: [{name: u, user: {token: t}}]",
        "contexts: [{name: x, context: {cluster: c, user: u}}]",
        "current-context: x",
      ].join("\n"),
    );
    expect(loadKubeConfig({ kind: "file", path: good }).getCurrentCluster()?.server).toBe("https://k8s.example:6443");

    const missing = join(dir, "missing");
    expect(() => loadKubeConfig({ kind: "file", path: missing })).toThrow(new RegExp(`^--kubeconfig ${missing}: `));

    const noContext = join(dir, "empty");
    writeFileSync(noContext, "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n");
    expect(() => loadKubeConfig({ kind: "file", path: noContext })).toThrow(`--kubeconfig ${noContext}: the current context names no cluster`);
  });
});
