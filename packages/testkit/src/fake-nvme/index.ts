export { FakeFabric, DEFAULT_FAKE_HOST_NQN, type FakeFabricOptions, type NamespaceView } from "./fake-fabric.js";
export { FakeInitiator, AlreadyConnected, NoSuchDevice, namespaceUuid, type FabricConfig, type ConnectRequest, type ReconnectOptions } from "./fake-initiator.js";
export { readFabricState, type FabricState, type ControllerRecord, type SubsystemRecord, type ControllerState } from "./fabric-state.js";
export { runNvmeCommand, FAKE_NVME_ENV, type CommandResult } from "./nvme-command.js";
export { writeNvmeShim, FAKE_NVME_CLI } from "./nvme-shim.js";
export { loopsOf } from "./loop-devices.js";
export * from "./sysfs-layout.js";
