import { PatchStrategy, setHeaderOptions, V1MicroTime, type V1VolumeAttachment } from "@kubernetes/client-node";
import { apiFailure, startFakeCluster, type FakeCluster } from "./test-support/clients.js";

const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const strategic = setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch);

function attachment(name: string, nodeName = "n1"): V1VolumeAttachment {
  return {
    metadata: { name },
    spec: { attacher: "rds.csi.mikrotik.com", nodeName, source: { persistentVolumeName: `pv-${name}` } },
    status: { attached: true },
  };
}

describe("resource semantics over HTTP with client-node", () => {
  let c: FakeCluster;
  beforeEach(async () => {
    c = await startFakeCluster();
  });
  afterEach(async () => {
    await c.server.stop();
  });

  describe("CRUD of every kind", () => {
    it("Nodes: create, read, list, replace, status subresource, delete (answered with a Status)", async () => {
      const created = await c.core.createNode({
        body: { metadata: { name: "n1", labels: { zone: "a" } }, status: { conditions: [{ type: "Ready", status: "True" }] } },
      });
      expect(created).toMatchObject({ apiVersion: "v1", kind: "Node", metadata: { name: "n1", resourceVersion: "1" } });
      expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(created.metadata?.creationTimestamp).toBeInstanceOf(Date);
      expect(created.status?.conditions?.[0]?.status).toBe("True");
      expect((await c.core.readNode({ name: "n1" })).metadata?.labels).toEqual({ zone: "a" });
      expect((await c.core.listNode()).items.map((n) => n.metadata?.name)).toEqual(["n1"]);

      // the main endpoint ignores status, the status endpoint ignores everything else
      const replaced = await c.core.replaceNode({
        name: "n1",
        body: { ...created, metadata: { ...created.metadata, labels: { zone: "b" } }, status: { conditions: [{ type: "Ready", status: "False" }] } },
      });
      expect(replaced.metadata?.labels).toEqual({ zone: "b" });
      expect(replaced.status?.conditions?.[0]?.status).toBe("True");
      const statusOnly = await c.core.replaceNodeStatus({
        name: "n1",
        body: { ...replaced, metadata: { ...replaced.metadata, labels: { zone: "c" } }, status: { conditions: [{ type: "Ready", status: "Unknown" }] } },
      });
      expect(statusOnly.metadata?.labels).toEqual({ zone: "b" });
      expect(statusOnly.status?.conditions?.[0]?.status).toBe("Unknown");
      const patched = await c.core.patchNodeStatus(
        { name: "n1", body: { status: { conditions: [{ type: "Ready", status: "False", reason: "KubeletNotReady" }] } } },
        strategic,
      );
      expect(patched.status?.conditions).toEqual([{ type: "Ready", status: "False", reason: "KubeletNotReady" }]);

      const deleted = await c.core.deleteNode({ name: "n1" });
      expect(deleted).toMatchObject({ kind: "Status", status: "Success", details: { name: "n1", kind: "nodes", uid: created.metadata?.uid } });
      expect(c.server.get("Node", undefined, "n1")).toBeUndefined();
    });

    it("Pods: namespaced create, read, list per namespace and across namespaces, replace, patch, delete", async () => {
      await c.core.createNamespacedPod({ namespace: "a", body: { metadata: { name: "p" }, spec: { containers: [{ name: "c", image: "i" }] } } });
      await c.core.createNamespacedPod({ namespace: "b", body: { metadata: { name: "p", namespace: "b" } } });
      const read = await c.core.readNamespacedPod({ name: "p", namespace: "a" });
      expect(read.metadata?.namespace).toBe("a");
      expect(read.spec?.containers[0]?.image).toBe("i");
      expect((await c.core.listNamespacedPod({ namespace: "b" })).items.map((p) => p.metadata?.namespace)).toEqual(["b"]);
      expect((await c.core.listPodForAllNamespaces()).items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`)).toEqual(["a/p", "b/p"]);
      // status is a subresource: the main endpoint keeps it, /status changes only it
      const replaced = await c.core.replaceNamespacedPod({ name: "p", namespace: "a", body: { ...read, status: { phase: "Running" } } });
      expect(replaced.status?.phase).toBeUndefined();
      const running = await c.core.replaceNamespacedPodStatus({ name: "p", namespace: "a", body: { ...replaced, spec: { containers: [] }, status: { phase: "Running" } } });
      expect(running.status?.phase).toBe("Running");
      expect(running.spec?.containers[0]?.image).toBe("i");
      const patched = await c.core.patchNamespacedPod({ name: "p", namespace: "a", body: { spec: { nodeName: "n1" } } }, merge);
      expect(patched.spec?.nodeName).toBe("n1");
      const deleted = await c.core.deleteNamespacedPod({ name: "p", namespace: "a" });
      expect(deleted).toMatchObject({ kind: "Pod", metadata: { name: "p", namespace: "a" } });
      expect(c.server.list("Pod").map((p) => p.metadata.namespace)).toEqual(["b"]);
    });

    it("PersistentVolumes and PersistentVolumeClaims", async () => {
      await c.core.createPersistentVolume({ body: { metadata: { name: "pv-1" }, spec: { capacity: { storage: "1Gi" }, csi: { driver: "rds.csi.mikrotik.com", volumeHandle: "pvc-1" } } } });
      await c.core.createNamespacedPersistentVolumeClaim({ namespace: "ns", body: { metadata: { name: "claim" }, spec: { volumeName: "pv-1" } } });
      const pv = await c.core.readPersistentVolume({ name: "pv-1" });
      expect(pv.spec?.csi?.volumeHandle).toBe("pvc-1");
      const claim = await c.core.readNamespacedPersistentVolumeClaim({ name: "claim", namespace: "ns" });
      const ignored = await c.core.replaceNamespacedPersistentVolumeClaim({ name: "claim", namespace: "ns", body: { ...claim, status: { phase: "Bound" } } });
      expect(ignored.status?.phase).toBeUndefined();
      const bound = await c.core.replaceNamespacedPersistentVolumeClaimStatus({ name: "claim", namespace: "ns", body: { ...ignored, status: { phase: "Bound" } } });
      expect(bound.status?.phase).toBe("Bound");
      const available = await c.core.patchPersistentVolumeStatus({ name: "pv-1", body: { status: { phase: "Available" } } }, merge);
      expect(available.status?.phase).toBe("Available");
      expect((await c.core.patchPersistentVolume({ name: "pv-1", body: { status: { phase: "Released" } } }, merge)).status?.phase).toBe("Available");
      expect((await c.core.listPersistentVolume()).items).toHaveLength(1);
      expect((await c.core.listNamespacedPersistentVolumeClaim({ namespace: "ns" })).items).toHaveLength(1);
      expect((await c.core.deletePersistentVolume({ name: "pv-1" })).kind).toBe("PersistentVolume");
      expect((await c.core.deleteNamespacedPersistentVolumeClaim({ name: "claim", namespace: "ns" })).kind).toBe("PersistentVolumeClaim");
    });

    it("Events: create and list", async () => {
      const involvedObject = { kind: "Pod", namespace: "ns", name: "p", uid: "u-1" };
      await c.core.createNamespacedEvent({ namespace: "ns", body: { metadata: { generateName: "p." }, involvedObject, reason: "Attached", type: "Normal" } });
      await c.core.createNamespacedEvent({ namespace: "other", body: { metadata: { name: "e2" }, involvedObject: { kind: "Node", name: "n1" }, reason: "Fenced", type: "Warning" } });
      const listed = await c.core.listNamespacedEvent({ namespace: "ns" });
      expect(listed.items).toHaveLength(1);
      expect(listed.items[0]).toMatchObject({ reason: "Attached", involvedObject });
      expect(listed.items[0]?.metadata.name).toMatch(/^p\.[a-z0-9]{5}$/);
      expect((await c.core.listEventForAllNamespaces({ fieldSelector: "type=Warning" })).items.map((e) => e.reason)).toEqual(["Fenced"]);
      expect((await c.core.deleteNamespacedEvent({ name: "e2", namespace: "other" })).status).toBe("Success");
    });

    it("VolumeAttachments: create drops status, status only through /status, delete returns the object", async () => {
      const created = await c.storage.createVolumeAttachment({ body: attachment("va-1") });
      expect(created).toMatchObject({ apiVersion: "storage.k8s.io/v1", kind: "VolumeAttachment", spec: { nodeName: "n1" } });
      expect(created.status).toBeUndefined();
      const attached = await c.storage.replaceVolumeAttachmentStatus({ name: "va-1", body: { ...created, status: { attached: true, attachmentMetadata: { ctrl: "nvme1" } } } });
      expect(attached.status).toEqual({ attached: true, attachmentMetadata: { ctrl: "nvme1" } });
      const ignored = await c.storage.patchVolumeAttachment({ name: "va-1", body: { status: { attached: false } } }, merge);
      expect(ignored.status?.attached).toBe(true);
      expect(ignored.metadata?.resourceVersion).toBe(attached.metadata?.resourceVersion);
      const detached = await c.storage.patchVolumeAttachmentStatus({ name: "va-1", body: { status: { attached: false, attachmentMetadata: null } } }, merge);
      expect(detached.status).toEqual({ attached: false });
      expect((await c.storage.readVolumeAttachment({ name: "va-1" })).status).toEqual({ attached: false });
      expect((await c.storage.listVolumeAttachment()).items).toHaveLength(1);
      expect(await c.storage.deleteVolumeAttachment({ name: "va-1" })).toMatchObject({ kind: "VolumeAttachment", metadata: { name: "va-1" } });
    });

    it("CSINodes", async () => {
      await c.storage.createCSINode({ body: { metadata: { name: "n1" }, spec: { drivers: [{ name: "rds.csi.mikrotik.com", nodeID: "n1" }] } } });
      expect((await c.storage.readCSINode({ name: "n1" })).spec.drivers[0]?.nodeID).toBe("n1");
      expect((await c.storage.listCSINode()).items).toHaveLength(1);
      expect((await c.storage.deleteCSINode({ name: "n1" })).kind).toBe("CSINode");
    });

    it("Leases: create, read, replace (renewing), list, delete (answered with a Status)", async () => {
      const renewTime = new V1MicroTime("2024-05-01T10:00:00.123Z");
      const created = await c.coordination.createNamespacedLease({
        namespace: "kube-system",
        body: { metadata: { name: "rds-csi-reconciler" }, spec: { holderIdentity: "pod-a", leaseDurationSeconds: 15, renewTime } },
      });
      // client-node 1.4 writes a MicroTime with microseconds but does not turn it back into a Date
      expect(c.server.get("Lease", "kube-system", "rds-csi-reconciler")?.["spec"]).toMatchObject({ renewTime: "2024-05-01T10:00:00.123000Z" });
      expect(created.spec?.renewTime as unknown).toBe("2024-05-01T10:00:00.123000Z");
      const renewed = await c.coordination.replaceNamespacedLease({
        name: "rds-csi-reconciler",
        namespace: "kube-system",
        body: { ...created, spec: { ...created.spec, renewTime: new V1MicroTime("2024-05-01T10:00:05Z") } },
      });
      expect(Number(renewed.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
      expect((await c.coordination.readNamespacedLease({ name: "rds-csi-reconciler", namespace: "kube-system" })).spec?.holderIdentity).toBe("pod-a");
      expect((await c.coordination.listNamespacedLease({ namespace: "kube-system" })).items).toHaveLength(1);
      expect((await c.coordination.deleteNamespacedLease({ name: "rds-csi-reconciler", namespace: "kube-system" })).status).toBe("Success");
    });
  });

  describe("create", () => {
    it("answers a duplicate name with 409 AlreadyExists", async () => {
      await c.storage.createVolumeAttachment({ body: attachment("va-1") });
      const { code, status } = await apiFailure(c.storage.createVolumeAttachment({ body: attachment("va-1") }));
      expect(code).toBe(409);
      expect(status).toEqual({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: 'volumeattachments.storage.k8s.io "va-1" already exists',
        reason: "AlreadyExists",
        details: { name: "va-1", group: "storage.k8s.io", kind: "volumeattachments" },
        code: 409,
      });
    });

    it("generates a name from generateName", async () => {
      const a = await c.core.createNamespacedPod({ namespace: "ns", body: { metadata: { generateName: "fence-" } } });
      const b = await c.core.createNamespacedPod({ namespace: "ns", body: { metadata: { generateName: "fence-" } } });
      expect(a.metadata?.name).toMatch(/^fence-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
      expect(b.metadata?.name).not.toBe(a.metadata?.name);
    });

    it("refuses a missing or invalid name (422), a set resourceVersion or a namespace that differs from the path (400)", async () => {
      expect(await apiFailure(c.core.createNode({ body: { metadata: {} } }))).toMatchObject({
        code: 422,
        status: { reason: "Invalid", details: { kind: "Node", causes: [{ field: "metadata.name" }] } },
      });
      expect(await apiFailure(c.storage.createVolumeAttachment({ body: attachment("VA_1") }))).toMatchObject({
        code: 422,
        status: { reason: "Invalid", message: expect.stringContaining('VolumeAttachment "VA_1" is invalid: metadata.name'), details: { group: "storage.k8s.io" } },
      });
      expect(await apiFailure(c.core.createNode({ body: { metadata: { name: "n1", resourceVersion: "4" } } }))).toMatchObject({
        code: 400,
        status: { reason: "BadRequest", message: "resourceVersion should not be set on objects to be created" },
      });
      expect(await apiFailure(c.core.createNamespacedPod({ namespace: "a", body: { metadata: { name: "p", namespace: "b" } } }))).toMatchObject({
        code: 400,
        status: { message: expect.stringContaining("does not match the namespace") },
      });
    });
  });

  describe("read", () => {
    it("answers a missing object with a 404 NotFound Status", async () => {
      expect(await apiFailure(c.core.readNamespacedPod({ name: "nope", namespace: "ns" }))).toMatchObject({
        code: 404,
        status: { kind: "Status", status: "Failure", reason: "NotFound", message: 'pods "nope" not found', details: { name: "nope", kind: "pods" }, code: 404 },
      });
      expect(await apiFailure(c.coordination.readNamespacedLease({ name: "nope", namespace: "ns" }))).toMatchObject({
        code: 404,
        status: { message: 'leases.coordination.k8s.io "nope" not found', details: { group: "coordination.k8s.io", kind: "leases" } },
      });
    });
  });

  describe("update", () => {
    it("answers a stale resourceVersion with 409 Conflict and accepts an update without one", async () => {
      const v1 = await c.core.createNode({ body: { metadata: { name: "n1" } } });
      const v2 = await c.core.replaceNode({ name: "n1", body: { ...v1, metadata: { ...v1.metadata, labels: { a: "1" } } } });
      expect(await apiFailure(c.core.replaceNode({ name: "n1", body: { ...v1, metadata: { ...v1.metadata, labels: { a: "2" } } } }))).toMatchObject({
        code: 409,
        status: {
          reason: "Conflict",
          message: 'Operation cannot be fulfilled on nodes "n1": the object has been modified; please apply your changes to the latest version and try again',
        },
      });
      const unconditional = await c.core.replaceNode({ name: "n1", body: { metadata: { name: "n1", labels: { a: "3" } } } });
      expect(unconditional.metadata?.labels).toEqual({ a: "3" });
      expect(unconditional.metadata?.uid).toBe(v2.metadata?.uid);
      expect(unconditional.metadata?.creationTimestamp).toEqual(v1.metadata?.creationTimestamp);
    });

    it("keeps the resourceVersion and sends no event when nothing changes", async () => {
      const v1 = await c.core.createNode({ body: { metadata: { name: "n1", labels: { a: "1" }, annotations: {} } } });
      const same = await c.core.replaceNode({ name: "n1", body: v1 });
      expect(same.metadata?.resourceVersion).toBe(v1.metadata?.resourceVersion);
    });

    it("refuses a name that differs from the URL (400) and a missing object (404)", async () => {
      await c.core.createNode({ body: { metadata: { name: "n1" } } });
      expect((await apiFailure(c.core.replaceNode({ name: "n1", body: { metadata: { name: "n2" } } }))).status.message).toBe(
        "the name of the object (n2) does not match the name on the URL (n1)",
      );
      expect((await apiFailure(c.core.replaceNode({ name: "n9", body: { metadata: { name: "n9" } } }))).code).toBe(404);
    });
  });

  describe("patch", () => {
    beforeEach(async () => {
      await c.core.createNamespacedPod({ namespace: "ns", body: { metadata: { name: "p", labels: { a: "1", b: "2" }, finalizers: ["x"] } } });
    });

    it("applies a JSON patch (client-node's default content type)", async () => {
      const patched = await c.core.patchNamespacedPod({
        name: "p",
        namespace: "ns",
        body: [
          { op: "test", path: "/metadata/labels/a", value: "1" },
          { op: "replace", path: "/metadata/labels/a", value: "9" },
          { op: "remove", path: "/metadata/labels/b" },
          { op: "add", path: "/metadata/finalizers/-", value: "y" },
        ],
      });
      expect(patched.metadata).toMatchObject({ labels: { a: "9" }, finalizers: ["x", "y"] });
      expect(c.server.requests().at(-1)).toMatchObject({ method: "PATCH", path: "/api/v1/namespaces/ns/pods/p" });
    });

    it("answers a failed JSON patch test with 422", async () => {
      const { code, status } = await apiFailure(c.core.patchNamespacedPod({ name: "p", namespace: "ns", body: [{ op: "test", path: "/metadata/labels/a", value: "2" }] }));
      expect(code).toBe(422);
      expect(status.reason).toBe("Invalid");
    });

    it("applies a merge patch: null removes, lists are replaced", async () => {
      const patched = await c.core.patchNamespacedPod({ name: "p", namespace: "ns", body: { metadata: { labels: { a: null, c: "3" }, finalizers: ["z"] } } }, merge);
      expect(patched.metadata).toMatchObject({ labels: { b: "2", c: "3" }, finalizers: ["z"] });
    });

    it("applies a strategic merge patch: finalizers are merged as a set", async () => {
      const added = await c.core.patchNamespacedPod({ name: "p", namespace: "ns", body: { metadata: { finalizers: ["y"] } } }, strategic);
      expect(added.metadata?.finalizers).toEqual(["x", "y"]);
      const removed = await c.core.patchNamespacedPod({ name: "p", namespace: "ns", body: { metadata: { "$deleteFromPrimitiveList/finalizers": ["x"] } } }, strategic);
      expect(removed.metadata?.finalizers).toEqual(["y"]);
    });

    it("answers a patch carrying a stale resourceVersion with 409, an unknown content type with 415", async () => {
      expect((await apiFailure(c.core.patchNamespacedPod({ name: "p", namespace: "ns", body: { metadata: { resourceVersion: "0", labels: { a: "5" } } } }, merge))).code).toBe(409);
      const apply = setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply);
      expect(await apiFailure(c.core.patchNamespacedPod({ name: "p", namespace: "ns", body: { metadata: { labels: { a: "5" } } } }, apply))).toMatchObject({
        code: 415,
        status: { reason: "UnsupportedMediaType" },
      });
    });

    it("answers a patch of a missing object with 404", async () => {
      expect((await apiFailure(c.core.patchNamespacedPod({ name: "nope", namespace: "ns", body: { metadata: { labels: { a: "5" } } } }, merge))).code).toBe(404);
    });
  });

  describe("delete", () => {
    it("keeps an object with finalizers, marked for deletion, until its finalizers are removed", async () => {
      const created = await c.storage.createVolumeAttachment({ body: { ...attachment("va-1"), metadata: { name: "va-1", finalizers: ["external-attacher/rds-csi"] } } });
      const terminating = await c.storage.deleteVolumeAttachment({ name: "va-1" });
      expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);
      expect(terminating.metadata?.deletionGracePeriodSeconds).toBe(0);
      expect(Number(terminating.metadata?.resourceVersion)).toBeGreaterThan(Number(created.metadata?.resourceVersion));
      const again = await c.storage.deleteVolumeAttachment({ name: "va-1" });
      expect(again.metadata?.resourceVersion).toBe(terminating.metadata?.resourceVersion);

      // still readable; its spec can change, but no finalizer can be added
      const read = await c.storage.readVolumeAttachment({ name: "va-1" });
      expect(read.metadata?.deletionTimestamp).toEqual(terminating.metadata?.deletionTimestamp);
      const withExtra = { ...read, metadata: { ...read.metadata, finalizers: ["external-attacher/rds-csi", "other"] } };
      expect(await apiFailure(c.storage.replaceVolumeAttachment({ name: "va-1", body: withExtra }))).toMatchObject({
        code: 422,
        status: { reason: "Invalid", details: { causes: [{ field: "metadata.finalizers" }] } },
      });

      const released = await c.storage.replaceVolumeAttachment({ name: "va-1", body: { ...read, metadata: { ...read.metadata, finalizers: [] } } });
      expect(released.metadata?.finalizers).toBeUndefined();
      expect((await apiFailure(c.storage.readVolumeAttachment({ name: "va-1" }))).code).toBe(404);
    });

    it("finalizer removal by merge patch deletes the object too", async () => {
      await c.core.createPersistentVolume({ body: { metadata: { name: "pv-1", finalizers: ["kubernetes.io/pv-protection"] } } });
      await c.core.deletePersistentVolume({ name: "pv-1" });
      expect(c.server.get("PersistentVolume", "", "pv-1")?.metadata.deletionTimestamp).toEqual(expect.any(String));
      await c.core.patchPersistentVolume({ name: "pv-1", body: { metadata: { finalizers: null } } }, merge);
      expect(c.server.get("PersistentVolume", "", "pv-1")).toBeUndefined();
    });

    it("honours resourceVersion and uid preconditions", async () => {
      const pod = await c.core.createNamespacedPod({ namespace: "ns", body: { metadata: { name: "p" } } });
      expect(await apiFailure(c.core.deleteNamespacedPod({ name: "p", namespace: "ns", body: { preconditions: { resourceVersion: "999" } } }))).toMatchObject({
        code: 409,
        status: { reason: "Conflict", message: expect.stringContaining(`Precondition failed: ResourceVersion in precondition: 999, ResourceVersion in object meta: ${pod.metadata?.resourceVersion}`) },
      });
      expect(await apiFailure(c.core.deleteNamespacedPod({ name: "p", namespace: "ns", body: { preconditions: { uid: "other" } } }))).toMatchObject({
        code: 409,
        status: { message: expect.stringContaining("Precondition failed: UID in precondition: other") },
      });
      const deleted = await c.core.deleteNamespacedPod({
        name: "p",
        namespace: "ns",
        body: { preconditions: { resourceVersion: pod.metadata?.resourceVersion, uid: pod.metadata?.uid } },
      });
      expect(deleted.metadata?.uid).toBe(pod.metadata?.uid);
      expect((await apiFailure(c.core.deleteNamespacedPod({ name: "p", namespace: "ns" }))).code).toBe(404);
    });
  });
});
