import { CSI_SECRET_FIELD_NAMES } from "./generated/secret-fields.js";
import { redactForLog } from "./redact.js";

describe("redactForLog", () => {
  it("knows the csi_secret fields of the proto", () => {
    expect([...CSI_SECRET_FIELD_NAMES]).toContain("secrets");
  });

  it("replaces every value under secrets, at any depth, and keeps the keys", () => {
    const request = {
      name: "pvc-1",
      secrets: { password: "hunter2", "ssh-key": "-----BEGIN OPENSSH PRIVATE KEY-----" },
      nested: [{ secrets: { token: "abc" } }],
    };
    expect(redactForLog(request)).toEqual({
      name: "pvc-1",
      secrets: { password: "[redacted]", "ssh-key": "[redacted]" },
      nested: [{ secrets: { token: "[redacted]" } }],
    });
    expect(JSON.stringify(redactForLog(request))).not.toMatch(/hunter2|BEGIN OPENSSH|abc/);
  });

  it("does not change the message it was given", () => {
    const request = { secrets: { password: "hunter2" } };
    redactForLog(request);
    expect(request.secrets.password).toBe("hunter2");
  });

  it("turns 64-bit integers into strings so the copy serialises as JSON", () => {
    expect(JSON.stringify(redactForLog({ capacityRange: { requiredBytes: 2n ** 63n - 1n } }))).toBe(
      '{"capacityRange":{"requiredBytes":"9223372036854775807"}}',
    );
  });

  it("keeps non-secret values, including falsy ones", () => {
    expect(redactForLog({ readonly: false, count: 0, name: "", missing: undefined })).toEqual({
      readonly: false,
      count: 0,
      name: "",
      missing: undefined,
    });
  });
});
