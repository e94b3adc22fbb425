// The public API: re-exports only, one block per module (kept in path order by the formatter).
export type { ErrorListener, EventListener, EventMeta } from './bus/event-hub.js';
export type { GatherOptions, GatherResult } from './bus/gather.js';
export {
  type BroadcastOptions,
  createPrimaryBus,
  PrimaryBus,
  type PrimaryBusOptions,
  type PrimaryHandlers,
  type WorkerInfo,
  type WorkerState,
} from './bus/primary-bus.js';
export {
  createWorkerBus,
  type PeerGatherOptions,
  type PeerInfo,
  type WorkerAddress,
  type WorkerBroadcastOptions,
  WorkerBus,
  type WorkerBusOptions,
  type WorkerHandlers,
} from './bus/worker-bus.js';
export {
  type ShutdownContext,
  type ShutdownHook,
  SLOT_ENV,
  SUPERVISED_ENV,
  type WorkerLifecycleOptions,
} from './bus/worker-lifecycle.js';
export type { Caller, CallOptions, HandlerContext, PrimaryCaller, WorkerCaller } from './call.js';
export { DEFAULT_TIMEOUT } from './call.js';
export type {
  CallInput,
  CallOutput,
  Contract,
  ContractEvents,
  ContractShape,
  EventMap,
  EventPayload,
  HandlerInput,
  HandlerOutput,
  PrimaryProcedures,
  ProcedureDef,
  ProcedureMap,
  WorkerProcedures,
} from './contract.js';
export { defineContract } from './contract.js';
export * from './errors.js';
export {
  Fleet,
  type FleetEvents,
  type FleetGatherOptions,
  type FleetGatherResult,
  type FleetMember,
  type HostInfo,
  type HostState,
} from './fleet/fleet.js';
export type { FleetOptions } from './fleet/options.js';
export { type DrainHttpOptions, type DrainHttpResult, drainHttp, trackHttp } from './http/drain.js';
export { createPeer, Peer, type PeerHooks, type PeerOptions } from './peer.js';
export {
  POOL_DEFAULTS,
  type ResolvedPoolOptions,
  type RunOptions,
  type TaskPoolOptions,
} from './pool/options.js';
export { createTaskPool, type RetryInfo, TaskPool, type TaskPoolEvents } from './pool/pool.js';
export type { DurationStats, PoolStats, PoolWorkerStats } from './pool/stats.js';
export { PROTOCOL_VERSION, TAG } from './protocol.js';
export type { StandardSchemaV1 } from './standard-schema.js';
export type { BackoffOptions } from './supervisor/backoff.js';
export type { CrashBudgetOptions } from './supervisor/crash-budget.js';
export {
  ClusterStartError,
  isSupervisorError,
  ReloadError,
  type ReplacedWorker,
  ScaleError,
  type StartFailure,
  SupervisorError,
  SupervisorErrorCode,
} from './supervisor/errors.js';
export type {
  CrashLoop,
  LiveWorkerStatus,
  ReloadResult,
  RespawnFailed,
  RespawnScheduled,
  ScaleResult,
  ShutdownResult,
  StoppedSlotStatus,
  SupervisorEvents,
  WorkerExit,
  WorkerStatus,
} from './supervisor/events.js';
export type { SupervisorLogger } from './supervisor/log.js';
export type {
  ReloadOptions,
  ShutdownOptions,
  SpawnOptions,
  StartClusterOptions,
} from './supervisor/options.js';
export type { PrefixOutput } from './supervisor/output.js';
export type { SignalOptions } from './supervisor/signals.js';
export { Supervisor, startCluster } from './supervisor/supervisor.js';
export { childProcessTransport } from './transports/child-process.js';
export { clusterWorkerTransport } from './transports/cluster-worker.js';
export {
  createMemoryTransportPair,
  type MemoryPairOptions,
  type MemoryTransportPair,
} from './transports/memory.js';
export { processTransport } from './transports/process.js';
export { type SocketTransportOptions, socketTransport } from './transports/socket.js';
export type { ChannelOptions, Transport, TransportOptions } from './transports/transport.js';
export { workerThreadTransport } from './transports/worker-thread.js';
