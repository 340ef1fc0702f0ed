// The fake kube-apiserver's public surface for other packages' tests.
export { DEFAULT_NAMESPACES, startFakeApiServer, type FakeApiServer, type FakeApiServerOptions, type RecordedRequest } from "./fake-apiserver.js";
export type { ApiCall } from "./api-call.js";
export { fakeKubeClient, fakeKubeConfig } from "./kube-config.js";
export { fakeKubeEachTest, type FakeKube } from "./fake-kube-each-test.js";
export type { InjectedFault } from "./fault-injector.js";
export type { KubeObject, ObjectMeta } from "./kube-object.js";
export type { ResourceKind } from "./resources.js";
export type { KubeStatus, StatusDetails, StatusCause } from "./status.js";
