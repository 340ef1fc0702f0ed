import { kubeConfigSetting } from "./kube-config-source.js";

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
