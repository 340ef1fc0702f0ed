export { startSimulator, RdsSimulator, type DiskView, type RestartOptions } from "./simulator.js";
export {
  DEFAULT_POOL_NAME,
  DEFAULT_POOL_SIZE,
  DEFAULT_USER,
  InvalidOptionError,
  type SimulatorOptions,
} from "./simulator-options.js";
export {
  ALLOW_HOST_MODES,
  COPY_FROM_MODES,
  DETAIL_WRAP_MODES,
  DEFAULT_SETTINGS,
  InvalidSettingError,
  type AllowHostMode,
  type CopyFromMode,
  type DetailWrapMode,
  type LatencySettings,
  type SettingsPatch,
  type SimulatorSettings,
} from "./settings.js";
export {
  FaultInjector,
  InvalidFaultError,
  type CommandKind,
  type CommandMatch,
  type DropConnectionFault,
  type ErrorReplyFault,
  type FaultState,
} from "./fault-injector.js";
export type { CommandLogEntry, CommandOutcome } from "./command-log.js";
export {
  ExportConnectionRefused,
  type ConnectionDropped,
  type DropReason,
  type ExportWithConnections,
  type NvmeExport,
  type RefusalReason,
} from "./export-registry.js";
export type { FileEntry } from "./file-table.js";
export { InvalidStateError } from "./persisted-state.js";
export { InvalidAuthorizedKeyError } from "./authorized-keys.js";
export { generateEd25519KeyPair, hostKeyFingerprint, InvalidHostKeyError } from "./host-key.js";
export { changeAsOperator, operatorLogin, runAsOperator, type OperatorLogin } from "./operator-access.js";
// The `print detail` layouts (detailWrap modes) and the records they print, for the parser's wrapping tests.
export { formatPrintDetail, type FlagDefinition, type NumberedRecord } from "./format-print-detail.js";
export { DISK_FLAGS, diskRecord } from "./disk-records.js";
export { foreignDiskRecords } from "./foreign-disks.js";
export { fileRecord } from "./file-records.js";
export { bareField, binarySizeField, bytesField, pathField, quotedField, yesNoField, type RecordDraft, type RecordField } from "./record-fields.js";
