import { PassThrough } from "node:stream";
import { createLogger } from "@rds-csi/core";
import { CLEANED_UP_ANNOTATION, FENCE_ANNOTATION } from "@rds-csi/core/k8s";
import { fakeKubeEachTest } from "@rds-csi/testkit";
import { FenceCleanupReporter } from "../src/fence-cleanup-reporter.js";
import type { AttachmentState } from "../src/volume-attachment-check.js";

describe("FenceCleanupReporter", () => {
  const kube = fakeKubeEachTest();
  const signal = new AbortController().signal;
  const annotations = () => kube.api.get("Node", undefined, "n1")?.metadata?.annotations ?? {};

  it("reports the clean-up once per fence, only when every staged volume is attached here again", async () => {
    kube.api.put("Node", { metadata: { name: "n1" } });
    let staged = ["pvc-moved", "pvc-kept"];
    const states: Record<string, AttachmentState> = { "pvc-moved": "gone", "pvc-kept": "attached" };
    const reporter = new FenceCleanupReporter({
      client: kube.client,
      nodeName: "n1",
      attachments: { stateOf: async (volumeId) => states[volumeId] ?? "unknown" },
      staged: () => staged,
      logger: createLogger({ level: "error", component: "test", stream: new PassThrough() }),
      intervalMs: 1_000,
    });
    expect(await reporter.check(signal)).toBe(false); // not fenced: nothing to report
    kube.api.put("Node", { metadata: { name: "n1", annotations: { [FENCE_ANNOTATION]: '{"phase":"done","startedAt":"1"}' } } });
    expect(await reporter.check(signal)).toBe(false); // pvc-moved is still staged here
    expect(annotations()[CLEANED_UP_ANNOTATION]).toBeUndefined();
    staged = ["pvc-kept"]; // kubelet unstaged it
    expect(await reporter.check(signal)).toBe(true);
    const reported = annotations()[CLEANED_UP_ANNOTATION];
    expect(Date.parse(reported ?? "")).not.toBeNaN();
    expect(await reporter.check(signal)).toBe(false); // once per fence record
    kube.api.put("Node", { metadata: { name: "n1", annotations: { ...annotations(), [FENCE_ANNOTATION]: '{"phase":"done","startedAt":"2"}' } } });
    expect(await reporter.check(signal)).toBe(true);
  });
});
