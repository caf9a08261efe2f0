// freezedry's public API.
export { checkpoint, type CheckpointOptions, type CheckpointProgress, type CheckpointResult } from './checkpoint.js';
export { restore, type RestoreOptions, type RestoreResult } from './restore.js';
export {
  check,
  features,
  version,
  type CheckItem,
  type CheckReport,
  type CheckStatus,
  type CriuFeatures,
} from './check.js';
export { run, type RunOptions, type RunResult } from './run.js';
export { exportArchive, importArchive, type ExportOptions, type TransferProgress } from './archive/transfer.js';
export { Archive, type ArchiveEntry } from './archive/archive-reader.js';
export type { ArchiveOptions } from './archive/archive-builder.js';
export type { Manifest, ManifestEntry, SourceHost } from './archive/manifest.js';
export { inspect, type InspectReport } from './inspect.js';
export { DirtyTracker, type WrittenRange } from './pages/dirty-tracker.js';
export { migrate, type MigrateOptions, type MigrateResult, type MigrationMode } from './migrate/source.js';
export { receive, type ReceiveOptions, type ReceivedMigration, type Receiver } from './migrate/destination.js';
export {
  runContainer,
  listContainers,
  removeContainer,
  type RunContainerOptions,
  type ContainerInfo,
} from './container/lifecycle.js';
export { checkpointContainer, type ContainerCheckpointOptions, type ContainerCheckpointResult } from './container/checkpoint.js';
export { restoreContainer, type ContainerRestoreOptions, type ContainerRestoreResult } from './container/restore.js';
export type { ContainerFacts } from './container/layout.js';
export { migrateContainer, type ContainerMigrateOptions } from './container/migrate.js';
export type { RuncOptions } from './container/runc.js';
export { snapshot, type SnapshotOptions, type SnapshotResult } from './snapshot/snapshot.js';
export { acceptSnapshotRequests, requestSnapshot, type RequestSnapshotOptions } from './snapshot/requests.js';
export { beforeSnapshot, afterRestore, type HookOptions, type RestoreContext } from './snapshot/hooks.js';
export { listCheckpoints, removeCheckpoint, storeRoot, type StoredCheckpoint } from './store.js';
export type { CheckpointSummary, FileSummary, MappingKind, MemorySummary, TaskSummary } from './images/image-summary.js';
export type { CriuOptions } from './criu/options.js';
export type { CriuNotification, NotificationHandler, NotificationName } from './criu/session.js';
export type { CriuVersion } from './criu/version.js';
export type { DumpStats, RestoreStats } from './images/stats.js';
export type { NativeExitStatus as ExitStatus } from './native/binding.js';
export {
  CriuError,
  ErrorCode,
  FreezedryError,
  ValidationError,
  isFreezedryError,
  type ErrorCodeValue,
} from './errors.js';
