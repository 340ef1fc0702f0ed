import { csi } from "@rds-csi/core";
import { accessPolicyFor, MIGRATION, READERS, SINGLE_NODE, type AccessPolicy } from "./access-policy.js";
import type { AttachmentRecord } from "./attachment-record.js";
import { decidePublish, describeRefusal, entitledNodes, type HolderState } from "./publish-decision.js";

const Mode = csi.VolumeCapability_AccessMode_Mode;

function va(node: string, fields: Partial<AttachmentRecord> = {}): AttachmentRecord {
  return { name: `va-${node}`, node, attached: false, deleting: false, failed: false, createdAt: 1_000, ...fields };
}

const attached = (node: string, fields: Partial<AttachmentRecord> = {}) => va(node, { attached: true, ...fields });

type Kind = AccessPolicy["kind"];
type Outcome = "grant" | "already" | "refuse";

interface Scenario {
  readonly name: string;
  /** attachments besides (or including) the requester "me" */
  readonly attachments: readonly AttachmentRecord[];
  readonly publishing?: readonly string[];
  readonly expect: Readonly<Record<Kind, Outcome>>;
  /** holders the decision names, with their state */
  readonly holders?: Readonly<Record<string, HolderState>>;
}

const every = (outcome: Outcome): Record<Kind, Outcome> => ({ "single-node": outcome, migration: outcome, readers: outcome });

// The requester is node "me"; its own attachment is created at t=1000 unless a row says otherwise.
const scenarios: readonly Scenario[] = [
  { name: "nothing else exists", attachments: [va("me")], expect: every("grant"), holders: {} },
  { name: "the requester's attachment is not in the cache yet", attachments: [], expect: every("grant") },
  { name: "the requester is already attached (repeat)", attachments: [attached("me")], expect: every("already") },
  {
    name: "another node is attached",
    attachments: [va("me"), attached("a")],
    expect: { "single-node": "refuse", migration: "grant", readers: "grant" },
    holders: { a: "attached" },
  },
  {
    name: "another node is attached and being deleted (detach requested, unpublish not done)",
    attachments: [va("me"), attached("a", { deleting: true })],
    expect: { "single-node": "refuse", migration: "grant", readers: "grant" },
    holders: { a: "detaching" },
  },
  {
    name: "another node's attachment is deleted before it was ever attached",
    attachments: [va("me"), va("a", { deleting: true })],
    expect: { "single-node": "refuse", migration: "grant", readers: "grant" },
    holders: { a: "detaching" },
  },
  {
    name: "another node's older attachment is still attaching",
    attachments: [va("me", { createdAt: 2_000 }), va("a", { createdAt: 1_000 })],
    expect: { "single-node": "refuse", migration: "grant", readers: "grant" },
    holders: { a: "attaching" },
  },
  {
    name: "another node's younger attachment is attaching (the older one wins)",
    attachments: [va("me", { createdAt: 1_000 }), va("a", { createdAt: 2_000 })],
    expect: every("grant"),
    holders: {},
  },
  {
    name: "same creation second: the smaller name is older",
    attachments: [va("me", { name: "csi-b" }), va("a", { name: "csi-a" })],
    expect: { "single-node": "refuse", migration: "grant", readers: "grant" },
    holders: { a: "attaching" },
  },
  {
    name: "same creation second, the requester's name is smaller",
    attachments: [va("me", { name: "csi-a" }), va("a", { name: "csi-b" })],
    expect: every("grant"),
  },
  {
    name: "another node's older attachment failed its last attach",
    attachments: [va("me", { createdAt: 2_000 }), va("a", { createdAt: 1_000, failed: true })],
    expect: every("grant"),
    holders: {},
  },
  {
    name: "another node's pending attachment has no creation time",
    attachments: [va("me"), va("a", { createdAt: undefined })],
    expect: every("grant"),
  },
  {
    name: "the requester's attachment is missing: every pending one it sees counts as older",
    attachments: [va("a", { createdAt: 5_000 })],
    expect: { "single-node": "refuse", migration: "grant", readers: "grant" },
    holders: { a: "attaching" },
  },
  {
    name: "a publish for another node is running in this process",
    attachments: [va("me")],
    publishing: ["a"],
    expect: { "single-node": "refuse", migration: "grant", readers: "grant" },
    holders: { a: "publishing" },
  },
  {
    name: "a publish for the requester itself is running (a retry overlapping the first call)",
    attachments: [va("me")],
    publishing: ["me"],
    expect: every("grant"),
    holders: {},
  },
  {
    name: "two other nodes are attached (a migration in progress)",
    attachments: [va("me"), attached("a"), attached("b")],
    expect: { "single-node": "refuse", migration: "refuse", readers: "grant" },
    holders: { a: "attached", b: "attached" },
  },
  {
    name: "one other attached, one other being detached",
    attachments: [va("me"), attached("a"), attached("b", { deleting: true })],
    expect: { "single-node": "refuse", migration: "refuse", readers: "grant" },
    holders: { a: "attached", b: "detaching" },
  },
  {
    name: "one other attached, a publish for a third running",
    attachments: [va("me"), attached("a")],
    publishing: ["b"],
    expect: { "single-node": "refuse", migration: "refuse", readers: "grant" },
    holders: { a: "attached", b: "publishing" },
  },
  {
    name: "a node with a publish running and an attached VolumeAttachment is named once, as attached",
    attachments: [va("me"), attached("a")],
    publishing: ["a"],
    expect: { "single-node": "refuse", migration: "grant", readers: "grant" },
    holders: { a: "attached" },
  },
  {
    name: "the requester is attached while another node holds it too (inconsistent): repeat is still OK",
    attachments: [attached("me"), attached("a")],
    expect: every("already"),
    holders: { a: "attached" },
  },
  {
    name: "the requester's own attachment is being deleted: it does not count as published",
    attachments: [attached("me", { deleting: true })],
    expect: every("grant"),
  },
];

// Every CSI access mode, with the access type that passes accessPolicyFor.
const modes: readonly [string, csi.VolumeCapability][] = [
  ["SINGLE_NODE_WRITER", { mount: { fsType: "ext4", mountFlags: [], volumeMountGroup: "" }, accessMode: { mode: Mode.SINGLE_NODE_WRITER } }],
  ["SINGLE_NODE_READER_ONLY", { block: {}, accessMode: { mode: Mode.SINGLE_NODE_READER_ONLY } }],
  ["SINGLE_NODE_SINGLE_WRITER", { block: {}, accessMode: { mode: Mode.SINGLE_NODE_SINGLE_WRITER } }],
  ["SINGLE_NODE_MULTI_WRITER", { block: {}, accessMode: { mode: Mode.SINGLE_NODE_MULTI_WRITER } }],
  ["MULTI_NODE_SINGLE_WRITER", { block: {}, accessMode: { mode: Mode.MULTI_NODE_SINGLE_WRITER } }],
  ["MULTI_NODE_MULTI_WRITER (block)", { block: {}, accessMode: { mode: Mode.MULTI_NODE_MULTI_WRITER } }],
  ["MULTI_NODE_READER_ONLY", { block: {}, accessMode: { mode: Mode.MULTI_NODE_READER_ONLY } }],
];

describe("decidePublish: every access mode against every kind of existing attachment", () => {
  const cases = modes.flatMap(([modeName, capability]) => scenarios.map((scenario) => [modeName, scenario.name, capability, scenario] as const));
  it.each(cases)("%s, %s", (_mode, _name, capability, scenario) => {
    const policy = accessPolicyFor(capability);
    const decision = decidePublish({ node: "me", policy, attachments: scenario.attachments, publishing: new Set(scenario.publishing ?? []) });
    const expected = scenario.expect[policy.kind];
    const outcome: Outcome = decision.verdict === "refuse" ? "refuse" : decision.alreadyPublished ? "already" : "grant";
    expect({ scenario: scenario.name, outcome }).toEqual({ scenario: scenario.name, outcome: expected });
    if (decision.verdict === "refuse") {
      expect(decision.reason).toBe(policy.kind === "migration" ? "migration_limit" : "single_node");
    }
    if (scenario.holders !== undefined && expected !== "grant") {
      expect(Object.fromEntries(decision.holders.map((holder) => [holder.node, holder.state]))).toEqual(scenario.holders);
    }
  });
});

describe("accessPolicyFor", () => {
  it("maps single-node modes and MULTI_NODE_SINGLE_WRITER to one node, RWX block to two, ROX to any number", () => {
    expect(modes.map(([name, capability]) => [name, accessPolicyFor(capability).maxNodes])).toEqual([
      ["SINGLE_NODE_WRITER", 1],
      ["SINGLE_NODE_READER_ONLY", 1],
      ["SINGLE_NODE_SINGLE_WRITER", 1],
      ["SINGLE_NODE_MULTI_WRITER", 1],
      ["MULTI_NODE_SINGLE_WRITER", 1],
      ["MULTI_NODE_MULTI_WRITER (block)", 2],
      ["MULTI_NODE_READER_ONLY", Number.POSITIVE_INFINITY],
    ]);
  });

  it("refuses multi-writer on a filesystem and a missing or unknown mode, naming the field", () => {
    expect(() => accessPolicyFor({ mount: { fsType: "", mountFlags: [], volumeMountGroup: "" }, accessMode: { mode: Mode.MULTI_NODE_MULTI_WRITER } })).toThrow(
      "volume_capability: MULTI_NODE_MULTI_WRITER is supported for block access only",
    );
    expect(() => accessPolicyFor(undefined)).toThrow("volume_capability.access_mode.mode is missing or unknown");
    expect(() => accessPolicyFor({ block: {}, accessMode: { mode: Mode.UNKNOWN } })).toThrow(/access_mode/);
  });
});

describe("describeRefusal", () => {
  it("names the volume, every holding node, and why each counts", () => {
    const single = decidePublish({ node: "me", policy: SINGLE_NODE, attachments: [va("me"), attached("a", { deleting: true, name: "csi-1" })], publishing: new Set() });
    if (single.verdict !== "refuse") throw new Error("expected a refusal");
    expect(describeRefusal("pvc-1", single)).toBe(
      "volume pvc-1 is published to another node and can be attached to one node at a time: node a (VolumeAttachment csi-1 is being deleted; the volume stays there until ControllerUnpublish succeeded and it is gone)",
    );
    const third = decidePublish({
      node: "me",
      policy: MIGRATION,
      attachments: [va("me", { createdAt: 9_000 }), attached("a", { name: "csi-a" }), va("b", { name: "csi-b" })],
      publishing: new Set(["c"]),
    });
    if (third.verdict !== "refuse") throw new Error("expected a refusal");
    expect(describeRefusal("pvc-2", third)).toBe(
      "volume pvc-2 is already published to 3 nodes, the most a live migration uses: node a (VolumeAttachment csi-a is attached); " +
        "node b (VolumeAttachment csi-b, created earlier, is attaching); node c (a ControllerPublish for it is in progress)",
    );
  });
});

describe("entitledNodes (host allow-list)", () => {
  const none = new Set<string>();

  it("admits attached nodes and running publishes, never a node being detached or one that is leaving", () => {
    const attachments = [attached("a"), attached("b", { deleting: true }), attached("c")];
    expect(entitledNodes(READERS, attachments, new Set(["d"]), new Set(["c"]))).toEqual(["a", "d"]);
  });

  it("admits a pending node only when its own publish would be granted", () => {
    // Migration: a is attached, b's pending publish would be granted (two nodes), c's would not.
    const attachments = [attached("a"), va("b", { createdAt: 1_000 }), va("c", { createdAt: 2_000 })];
    expect(entitledNodes(MIGRATION, attachments, none, none)).toEqual(["a", "b"]);
    // Single node: nobody besides the holder.
    expect(entitledNodes(SINGLE_NODE, attachments, none, none)).toEqual(["a"]);
  });

  it("never admits a node whose last attach failed, unless a publish for it is running", () => {
    const attachments = [va("a", { failed: true })];
    expect(entitledNodes(SINGLE_NODE, attachments, none, none)).toEqual([]);
    expect(entitledNodes(SINGLE_NODE, attachments, new Set(["a"]), none)).toEqual(["a"]);
  });
});
