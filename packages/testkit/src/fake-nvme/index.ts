export { FakeFabric, DEFAULT_FAKE_HOST_NQN, type FakeFabricOptions, type NamespaceView } from "./fake-fabric.js";
export { FakeInitiator, AlreadyConnected, ConnectRejected, NoSuchDevice, namespaceUuid, type FabricConfig, type ConnectRequest, type ReconnectOptions } from "./fake-initiator.js";
export { readFabricState, FABRIC_LAYOUTS, NAMESPACE_ID_MODES, type FabricState, type ControllerRecord, type SubsystemRecord, type NamespaceRecord, type ControllerState, type FabricLayout, type NamespaceIds } from "./fabric-state.js";
export { runNvmeCommand, FAKE_NVME_ENV, type CommandResult } from "./nvme-command.js";
export { writeNvmeShim, FAKE_NVME_CLI } from "./nvme-shim.js";
export { loopsOf, loopsLeftOver } from "./loop-devices.js";
export { BLOCK_DEVICE_MODES, BLOCK_EXT_MAJOR, type BlockDevices } from "./namespace-disks.js";
export * from "./sysfs-layout.js";
