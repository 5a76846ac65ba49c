// Original file: pulse.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CommitStepRequest as _pulse_v1_CommitStepRequest, CommitStepRequest__Output as _pulse_v1_CommitStepRequest__Output } from '../../pulse/v1/CommitStepRequest.ts';
import type { CommitStepResponse as _pulse_v1_CommitStepResponse, CommitStepResponse__Output as _pulse_v1_CommitStepResponse__Output } from '../../pulse/v1/CommitStepResponse.ts';
import type { DeleteCheckpointRequest as _pulse_v1_DeleteCheckpointRequest, DeleteCheckpointRequest__Output as _pulse_v1_DeleteCheckpointRequest__Output } from '../../pulse/v1/DeleteCheckpointRequest.ts';
import type { DeleteCheckpointResponse as _pulse_v1_DeleteCheckpointResponse, DeleteCheckpointResponse__Output as _pulse_v1_DeleteCheckpointResponse__Output } from '../../pulse/v1/DeleteCheckpointResponse.ts';
import type { DeregisterWorkerRequest as _pulse_v1_DeregisterWorkerRequest, DeregisterWorkerRequest__Output as _pulse_v1_DeregisterWorkerRequest__Output } from '../../pulse/v1/DeregisterWorkerRequest.ts';
import type { DeregisterWorkerResponse as _pulse_v1_DeregisterWorkerResponse, DeregisterWorkerResponse__Output as _pulse_v1_DeregisterWorkerResponse__Output } from '../../pulse/v1/DeregisterWorkerResponse.ts';
import type { GetCheckpointRequest as _pulse_v1_GetCheckpointRequest, GetCheckpointRequest__Output as _pulse_v1_GetCheckpointRequest__Output } from '../../pulse/v1/GetCheckpointRequest.ts';
import type { GetCheckpointResponse as _pulse_v1_GetCheckpointResponse, GetCheckpointResponse__Output as _pulse_v1_GetCheckpointResponse__Output } from '../../pulse/v1/GetCheckpointResponse.ts';
import type { GetDatasetRequest as _pulse_v1_GetDatasetRequest, GetDatasetRequest__Output as _pulse_v1_GetDatasetRequest__Output } from '../../pulse/v1/GetDatasetRequest.ts';
import type { GetDatasetResponse as _pulse_v1_GetDatasetResponse, GetDatasetResponse__Output as _pulse_v1_GetDatasetResponse__Output } from '../../pulse/v1/GetDatasetResponse.ts';
import type { GetStepRequest as _pulse_v1_GetStepRequest, GetStepRequest__Output as _pulse_v1_GetStepRequest__Output } from '../../pulse/v1/GetStepRequest.ts';
import type { GetStepResponse as _pulse_v1_GetStepResponse, GetStepResponse__Output as _pulse_v1_GetStepResponse__Output } from '../../pulse/v1/GetStepResponse.ts';
import type { GetWorkerRequest as _pulse_v1_GetWorkerRequest, GetWorkerRequest__Output as _pulse_v1_GetWorkerRequest__Output } from '../../pulse/v1/GetWorkerRequest.ts';
import type { GetWorkerResponse as _pulse_v1_GetWorkerResponse, GetWorkerResponse__Output as _pulse_v1_GetWorkerResponse__Output } from '../../pulse/v1/GetWorkerResponse.ts';
import type { HeartbeatRequest as _pulse_v1_HeartbeatRequest, HeartbeatRequest__Output as _pulse_v1_HeartbeatRequest__Output } from '../../pulse/v1/HeartbeatRequest.ts';
import type { HeartbeatResponse as _pulse_v1_HeartbeatResponse, HeartbeatResponse__Output as _pulse_v1_HeartbeatResponse__Output } from '../../pulse/v1/HeartbeatResponse.ts';
import type { ListCheckpointsRequest as _pulse_v1_ListCheckpointsRequest, ListCheckpointsRequest__Output as _pulse_v1_ListCheckpointsRequest__Output } from '../../pulse/v1/ListCheckpointsRequest.ts';
import type { ListCheckpointsResponse as _pulse_v1_ListCheckpointsResponse, ListCheckpointsResponse__Output as _pulse_v1_ListCheckpointsResponse__Output } from '../../pulse/v1/ListCheckpointsResponse.ts';
import type { ListDatasetsRequest as _pulse_v1_ListDatasetsRequest, ListDatasetsRequest__Output as _pulse_v1_ListDatasetsRequest__Output } from '../../pulse/v1/ListDatasetsRequest.ts';
import type { ListDatasetsResponse as _pulse_v1_ListDatasetsResponse, ListDatasetsResponse__Output as _pulse_v1_ListDatasetsResponse__Output } from '../../pulse/v1/ListDatasetsResponse.ts';
import type { ListStepsRequest as _pulse_v1_ListStepsRequest, ListStepsRequest__Output as _pulse_v1_ListStepsRequest__Output } from '../../pulse/v1/ListStepsRequest.ts';
import type { ListStepsResponse as _pulse_v1_ListStepsResponse, ListStepsResponse__Output as _pulse_v1_ListStepsResponse__Output } from '../../pulse/v1/ListStepsResponse.ts';
import type { ListWorkersRequest as _pulse_v1_ListWorkersRequest, ListWorkersRequest__Output as _pulse_v1_ListWorkersRequest__Output } from '../../pulse/v1/ListWorkersRequest.ts';
import type { ListWorkersResponse as _pulse_v1_ListWorkersResponse, ListWorkersResponse__Output as _pulse_v1_ListWorkersResponse__Output } from '../../pulse/v1/ListWorkersResponse.ts';
import type { LoadCheckpointRequest as _pulse_v1_LoadCheckpointRequest, LoadCheckpointRequest__Output as _pulse_v1_LoadCheckpointRequest__Output } from '../../pulse/v1/LoadCheckpointRequest.ts';
import type { LoadCheckpointResponse as _pulse_v1_LoadCheckpointResponse, LoadCheckpointResponse__Output as _pulse_v1_LoadCheckpointResponse__Output } from '../../pulse/v1/LoadCheckpointResponse.ts';
import type { PlanLoadRequest as _pulse_v1_PlanLoadRequest, PlanLoadRequest__Output as _pulse_v1_PlanLoadRequest__Output } from '../../pulse/v1/PlanLoadRequest.ts';
import type { PlanLoadResponse as _pulse_v1_PlanLoadResponse, PlanLoadResponse__Output as _pulse_v1_PlanLoadResponse__Output } from '../../pulse/v1/PlanLoadResponse.ts';
import type { PlanSaveRequest as _pulse_v1_PlanSaveRequest, PlanSaveRequest__Output as _pulse_v1_PlanSaveRequest__Output } from '../../pulse/v1/PlanSaveRequest.ts';
import type { PlanSaveResponse as _pulse_v1_PlanSaveResponse, PlanSaveResponse__Output as _pulse_v1_PlanSaveResponse__Output } from '../../pulse/v1/PlanSaveResponse.ts';
import type { RegisterDatasetRequest as _pulse_v1_RegisterDatasetRequest, RegisterDatasetRequest__Output as _pulse_v1_RegisterDatasetRequest__Output } from '../../pulse/v1/RegisterDatasetRequest.ts';
import type { RegisterDatasetResponse as _pulse_v1_RegisterDatasetResponse, RegisterDatasetResponse__Output as _pulse_v1_RegisterDatasetResponse__Output } from '../../pulse/v1/RegisterDatasetResponse.ts';
import type { RegisterWorkerRequest as _pulse_v1_RegisterWorkerRequest, RegisterWorkerRequest__Output as _pulse_v1_RegisterWorkerRequest__Output } from '../../pulse/v1/RegisterWorkerRequest.ts';
import type { RegisterWorkerResponse as _pulse_v1_RegisterWorkerResponse, RegisterWorkerResponse__Output as _pulse_v1_RegisterWorkerResponse__Output } from '../../pulse/v1/RegisterWorkerResponse.ts';
import type { RunGcRequest as _pulse_v1_RunGcRequest, RunGcRequest__Output as _pulse_v1_RunGcRequest__Output } from '../../pulse/v1/RunGcRequest.ts';
import type { RunGcResponse as _pulse_v1_RunGcResponse, RunGcResponse__Output as _pulse_v1_RunGcResponse__Output } from '../../pulse/v1/RunGcResponse.ts';
import type { SaveCheckpointRequest as _pulse_v1_SaveCheckpointRequest, SaveCheckpointRequest__Output as _pulse_v1_SaveCheckpointRequest__Output } from '../../pulse/v1/SaveCheckpointRequest.ts';
import type { SaveCheckpointResponse as _pulse_v1_SaveCheckpointResponse, SaveCheckpointResponse__Output as _pulse_v1_SaveCheckpointResponse__Output } from '../../pulse/v1/SaveCheckpointResponse.ts';
import type { ScrubRequest as _pulse_v1_ScrubRequest, ScrubRequest__Output as _pulse_v1_ScrubRequest__Output } from '../../pulse/v1/ScrubRequest.ts';
import type { ScrubResponse as _pulse_v1_ScrubResponse, ScrubResponse__Output as _pulse_v1_ScrubResponse__Output } from '../../pulse/v1/ScrubResponse.ts';

export interface PulseRuntimeClient extends grpc.Client {
  /**
   * Job checkpoints: at each step of a distributed job every rank saves its
   * shard (SaveCheckpoint, or the direct path, with the header's `shard`),
   * and the step becomes visible all or nothing.
   * 
   * Commits a step: waits (up to timeout_ms) until every rank's shard is
   * durable, then writes the step's record, once, whichever runtime decides;
   * calls after the first return the same step. ABORTED, naming the missing
   * ranks, when the deadline passes or a rank's worker goes STALE first.
   */
  CommitStep(argument: _pulse_v1_CommitStepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_CommitStepResponse__Output>): grpc.ClientUnaryCall;
  CommitStep(argument: _pulse_v1_CommitStepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_CommitStepResponse__Output>): grpc.ClientUnaryCall;
  CommitStep(argument: _pulse_v1_CommitStepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_CommitStepResponse__Output>): grpc.ClientUnaryCall;
  CommitStep(argument: _pulse_v1_CommitStepRequest, callback: grpc.requestCallback<_pulse_v1_CommitStepResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Job checkpoints: at each step of a distributed job every rank saves its
   * shard (SaveCheckpoint, or the direct path, with the header's `shard`),
   * and the step becomes visible all or nothing.
   * 
   * Commits a step: waits (up to timeout_ms) until every rank's shard is
   * durable, then writes the step's record, once, whichever runtime decides;
   * calls after the first return the same step. ABORTED, naming the missing
   * ranks, when the deadline passes or a rank's worker goes STALE first.
   */
  commitStep(argument: _pulse_v1_CommitStepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_CommitStepResponse__Output>): grpc.ClientUnaryCall;
  commitStep(argument: _pulse_v1_CommitStepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_CommitStepResponse__Output>): grpc.ClientUnaryCall;
  commitStep(argument: _pulse_v1_CommitStepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_CommitStepResponse__Output>): grpc.ClientUnaryCall;
  commitStep(argument: _pulse_v1_CommitStepRequest, callback: grpc.requestCallback<_pulse_v1_CommitStepResponse__Output>): grpc.ClientUnaryCall;
  
  DeleteCheckpoint(argument: _pulse_v1_DeleteCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_DeleteCheckpointResponse__Output>): grpc.ClientUnaryCall;
  DeleteCheckpoint(argument: _pulse_v1_DeleteCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_DeleteCheckpointResponse__Output>): grpc.ClientUnaryCall;
  DeleteCheckpoint(argument: _pulse_v1_DeleteCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_DeleteCheckpointResponse__Output>): grpc.ClientUnaryCall;
  DeleteCheckpoint(argument: _pulse_v1_DeleteCheckpointRequest, callback: grpc.requestCallback<_pulse_v1_DeleteCheckpointResponse__Output>): grpc.ClientUnaryCall;
  deleteCheckpoint(argument: _pulse_v1_DeleteCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_DeleteCheckpointResponse__Output>): grpc.ClientUnaryCall;
  deleteCheckpoint(argument: _pulse_v1_DeleteCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_DeleteCheckpointResponse__Output>): grpc.ClientUnaryCall;
  deleteCheckpoint(argument: _pulse_v1_DeleteCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_DeleteCheckpointResponse__Output>): grpc.ClientUnaryCall;
  deleteCheckpoint(argument: _pulse_v1_DeleteCheckpointRequest, callback: grpc.requestCallback<_pulse_v1_DeleteCheckpointResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Marks a worker as gone; its checkpoints stay.
   */
  DeregisterWorker(argument: _pulse_v1_DeregisterWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_DeregisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  DeregisterWorker(argument: _pulse_v1_DeregisterWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_DeregisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  DeregisterWorker(argument: _pulse_v1_DeregisterWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_DeregisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  DeregisterWorker(argument: _pulse_v1_DeregisterWorkerRequest, callback: grpc.requestCallback<_pulse_v1_DeregisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Marks a worker as gone; its checkpoints stay.
   */
  deregisterWorker(argument: _pulse_v1_DeregisterWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_DeregisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  deregisterWorker(argument: _pulse_v1_DeregisterWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_DeregisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  deregisterWorker(argument: _pulse_v1_DeregisterWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_DeregisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  deregisterWorker(argument: _pulse_v1_DeregisterWorkerRequest, callback: grpc.requestCallback<_pulse_v1_DeregisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  
  GetCheckpoint(argument: _pulse_v1_GetCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetCheckpointResponse__Output>): grpc.ClientUnaryCall;
  GetCheckpoint(argument: _pulse_v1_GetCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_GetCheckpointResponse__Output>): grpc.ClientUnaryCall;
  GetCheckpoint(argument: _pulse_v1_GetCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetCheckpointResponse__Output>): grpc.ClientUnaryCall;
  GetCheckpoint(argument: _pulse_v1_GetCheckpointRequest, callback: grpc.requestCallback<_pulse_v1_GetCheckpointResponse__Output>): grpc.ClientUnaryCall;
  getCheckpoint(argument: _pulse_v1_GetCheckpointRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetCheckpointResponse__Output>): grpc.ClientUnaryCall;
  getCheckpoint(argument: _pulse_v1_GetCheckpointRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_GetCheckpointResponse__Output>): grpc.ClientUnaryCall;
  getCheckpoint(argument: _pulse_v1_GetCheckpointRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetCheckpointResponse__Output>): grpc.ClientUnaryCall;
  getCheckpoint(argument: _pulse_v1_GetCheckpointRequest, callback: grpc.requestCallback<_pulse_v1_GetCheckpointResponse__Output>): grpc.ClientUnaryCall;
  
  GetDataset(argument: _pulse_v1_GetDatasetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetDatasetResponse__Output>): grpc.ClientUnaryCall;
  GetDataset(argument: _pulse_v1_GetDatasetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_GetDatasetResponse__Output>): grpc.ClientUnaryCall;
  GetDataset(argument: _pulse_v1_GetDatasetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetDatasetResponse__Output>): grpc.ClientUnaryCall;
  GetDataset(argument: _pulse_v1_GetDatasetRequest, callback: grpc.requestCallback<_pulse_v1_GetDatasetResponse__Output>): grpc.ClientUnaryCall;
  getDataset(argument: _pulse_v1_GetDatasetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetDatasetResponse__Output>): grpc.ClientUnaryCall;
  getDataset(argument: _pulse_v1_GetDatasetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_GetDatasetResponse__Output>): grpc.ClientUnaryCall;
  getDataset(argument: _pulse_v1_GetDatasetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetDatasetResponse__Output>): grpc.ClientUnaryCall;
  getDataset(argument: _pulse_v1_GetDatasetRequest, callback: grpc.requestCallback<_pulse_v1_GetDatasetResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A step with its state; without a step, the job's latest COMPLETE one.
   */
  GetStep(argument: _pulse_v1_GetStepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetStepResponse__Output>): grpc.ClientUnaryCall;
  GetStep(argument: _pulse_v1_GetStepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_GetStepResponse__Output>): grpc.ClientUnaryCall;
  GetStep(argument: _pulse_v1_GetStepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetStepResponse__Output>): grpc.ClientUnaryCall;
  GetStep(argument: _pulse_v1_GetStepRequest, callback: grpc.requestCallback<_pulse_v1_GetStepResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A step with its state; without a step, the job's latest COMPLETE one.
   */
  getStep(argument: _pulse_v1_GetStepRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetStepResponse__Output>): grpc.ClientUnaryCall;
  getStep(argument: _pulse_v1_GetStepRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_GetStepResponse__Output>): grpc.ClientUnaryCall;
  getStep(argument: _pulse_v1_GetStepRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetStepResponse__Output>): grpc.ClientUnaryCall;
  getStep(argument: _pulse_v1_GetStepRequest, callback: grpc.requestCallback<_pulse_v1_GetStepResponse__Output>): grpc.ClientUnaryCall;
  
  GetWorker(argument: _pulse_v1_GetWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetWorkerResponse__Output>): grpc.ClientUnaryCall;
  GetWorker(argument: _pulse_v1_GetWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_GetWorkerResponse__Output>): grpc.ClientUnaryCall;
  GetWorker(argument: _pulse_v1_GetWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetWorkerResponse__Output>): grpc.ClientUnaryCall;
  GetWorker(argument: _pulse_v1_GetWorkerRequest, callback: grpc.requestCallback<_pulse_v1_GetWorkerResponse__Output>): grpc.ClientUnaryCall;
  getWorker(argument: _pulse_v1_GetWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetWorkerResponse__Output>): grpc.ClientUnaryCall;
  getWorker(argument: _pulse_v1_GetWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_GetWorkerResponse__Output>): grpc.ClientUnaryCall;
  getWorker(argument: _pulse_v1_GetWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_GetWorkerResponse__Output>): grpc.ClientUnaryCall;
  getWorker(argument: _pulse_v1_GetWorkerRequest, callback: grpc.requestCallback<_pulse_v1_GetWorkerResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Records that a worker is alive.
   */
  Heartbeat(argument: _pulse_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pulse_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pulse_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  Heartbeat(argument: _pulse_v1_HeartbeatRequest, callback: grpc.requestCallback<_pulse_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Records that a worker is alive.
   */
  heartbeat(argument: _pulse_v1_HeartbeatRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pulse_v1_HeartbeatRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pulse_v1_HeartbeatRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  heartbeat(argument: _pulse_v1_HeartbeatRequest, callback: grpc.requestCallback<_pulse_v1_HeartbeatResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Lists a worker's checkpoints, newest first.
   */
  ListCheckpoints(argument: _pulse_v1_ListCheckpointsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListCheckpointsResponse__Output>): grpc.ClientUnaryCall;
  ListCheckpoints(argument: _pulse_v1_ListCheckpointsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_ListCheckpointsResponse__Output>): grpc.ClientUnaryCall;
  ListCheckpoints(argument: _pulse_v1_ListCheckpointsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListCheckpointsResponse__Output>): grpc.ClientUnaryCall;
  ListCheckpoints(argument: _pulse_v1_ListCheckpointsRequest, callback: grpc.requestCallback<_pulse_v1_ListCheckpointsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Lists a worker's checkpoints, newest first.
   */
  listCheckpoints(argument: _pulse_v1_ListCheckpointsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListCheckpointsResponse__Output>): grpc.ClientUnaryCall;
  listCheckpoints(argument: _pulse_v1_ListCheckpointsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_ListCheckpointsResponse__Output>): grpc.ClientUnaryCall;
  listCheckpoints(argument: _pulse_v1_ListCheckpointsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListCheckpointsResponse__Output>): grpc.ClientUnaryCall;
  listCheckpoints(argument: _pulse_v1_ListCheckpointsRequest, callback: grpc.requestCallback<_pulse_v1_ListCheckpointsResponse__Output>): grpc.ClientUnaryCall;
  
  ListDatasets(argument: _pulse_v1_ListDatasetsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListDatasetsResponse__Output>): grpc.ClientUnaryCall;
  ListDatasets(argument: _pulse_v1_ListDatasetsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_ListDatasetsResponse__Output>): grpc.ClientUnaryCall;
  ListDatasets(argument: _pulse_v1_ListDatasetsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListDatasetsResponse__Output>): grpc.ClientUnaryCall;
  ListDatasets(argument: _pulse_v1_ListDatasetsRequest, callback: grpc.requestCallback<_pulse_v1_ListDatasetsResponse__Output>): grpc.ClientUnaryCall;
  listDatasets(argument: _pulse_v1_ListDatasetsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListDatasetsResponse__Output>): grpc.ClientUnaryCall;
  listDatasets(argument: _pulse_v1_ListDatasetsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_ListDatasetsResponse__Output>): grpc.ClientUnaryCall;
  listDatasets(argument: _pulse_v1_ListDatasetsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListDatasetsResponse__Output>): grpc.ClientUnaryCall;
  listDatasets(argument: _pulse_v1_ListDatasetsRequest, callback: grpc.requestCallback<_pulse_v1_ListDatasetsResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * A job's decided steps (COMPLETE and ABORTED), newest first.
   */
  ListSteps(argument: _pulse_v1_ListStepsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListStepsResponse__Output>): grpc.ClientUnaryCall;
  ListSteps(argument: _pulse_v1_ListStepsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_ListStepsResponse__Output>): grpc.ClientUnaryCall;
  ListSteps(argument: _pulse_v1_ListStepsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListStepsResponse__Output>): grpc.ClientUnaryCall;
  ListSteps(argument: _pulse_v1_ListStepsRequest, callback: grpc.requestCallback<_pulse_v1_ListStepsResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A job's decided steps (COMPLETE and ABORTED), newest first.
   */
  listSteps(argument: _pulse_v1_ListStepsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListStepsResponse__Output>): grpc.ClientUnaryCall;
  listSteps(argument: _pulse_v1_ListStepsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_ListStepsResponse__Output>): grpc.ClientUnaryCall;
  listSteps(argument: _pulse_v1_ListStepsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListStepsResponse__Output>): grpc.ClientUnaryCall;
  listSteps(argument: _pulse_v1_ListStepsRequest, callback: grpc.requestCallback<_pulse_v1_ListStepsResponse__Output>): grpc.ClientUnaryCall;
  
  ListWorkers(argument: _pulse_v1_ListWorkersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _pulse_v1_ListWorkersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _pulse_v1_ListWorkersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  ListWorkers(argument: _pulse_v1_ListWorkersRequest, callback: grpc.requestCallback<_pulse_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _pulse_v1_ListWorkersRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _pulse_v1_ListWorkersRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _pulse_v1_ListWorkersRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  listWorkers(argument: _pulse_v1_ListWorkersRequest, callback: grpc.requestCallback<_pulse_v1_ListWorkersResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Loads a checkpoint: the first message is the checkpoint, the rest carry data.
   */
  LoadCheckpoint(argument: _pulse_v1_LoadCheckpointRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pulse_v1_LoadCheckpointResponse__Output>;
  LoadCheckpoint(argument: _pulse_v1_LoadCheckpointRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pulse_v1_LoadCheckpointResponse__Output>;
  /**
   * Loads a checkpoint: the first message is the checkpoint, the rest carry data.
   */
  loadCheckpoint(argument: _pulse_v1_LoadCheckpointRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pulse_v1_LoadCheckpointResponse__Output>;
  loadCheckpoint(argument: _pulse_v1_LoadCheckpointRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pulse_v1_LoadCheckpointResponse__Output>;
  
  /**
   * A checkpoint's chunks with presigned GETs, a page at a time, for a load
   * straight from the bucket; every chunk is verified by the client against
   * its SHA-256. FAILED_PRECONDITION when the runtime offers no direct path.
   */
  PlanLoad(argument: _pulse_v1_PlanLoadRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_PlanLoadResponse__Output>): grpc.ClientUnaryCall;
  PlanLoad(argument: _pulse_v1_PlanLoadRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_PlanLoadResponse__Output>): grpc.ClientUnaryCall;
  PlanLoad(argument: _pulse_v1_PlanLoadRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_PlanLoadResponse__Output>): grpc.ClientUnaryCall;
  PlanLoad(argument: _pulse_v1_PlanLoadRequest, callback: grpc.requestCallback<_pulse_v1_PlanLoadResponse__Output>): grpc.ClientUnaryCall;
  /**
   * A checkpoint's chunks with presigned GETs, a page at a time, for a load
   * straight from the bucket; every chunk is verified by the client against
   * its SHA-256. FAILED_PRECONDITION when the runtime offers no direct path.
   */
  planLoad(argument: _pulse_v1_PlanLoadRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_PlanLoadResponse__Output>): grpc.ClientUnaryCall;
  planLoad(argument: _pulse_v1_PlanLoadRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_PlanLoadResponse__Output>): grpc.ClientUnaryCall;
  planLoad(argument: _pulse_v1_PlanLoadRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_PlanLoadResponse__Output>): grpc.ClientUnaryCall;
  planLoad(argument: _pulse_v1_PlanLoadRequest, callback: grpc.requestCallback<_pulse_v1_PlanLoadResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * The direct path, on S3 stores: checkpoint bytes go between the client
   * and the bucket, and the runtime plans, verifies and commits.
   * 
   * Plans (part of) a save: for each chunk the store lacks, a presigned PUT
   * of exactly that chunk's key, signed with its SHA-256. The client PUTs
   * them, then commits with SaveCheckpoint: its header names the plan, and
   * `chunk` messages name every chunk in order. FAILED_PRECONDITION when the
   * runtime offers no direct path (an fs store, storage.direct_transfer off):
   * save with SaveCheckpoint's data messages then.
   */
  PlanSave(argument: _pulse_v1_PlanSaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_PlanSaveResponse__Output>): grpc.ClientUnaryCall;
  PlanSave(argument: _pulse_v1_PlanSaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_PlanSaveResponse__Output>): grpc.ClientUnaryCall;
  PlanSave(argument: _pulse_v1_PlanSaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_PlanSaveResponse__Output>): grpc.ClientUnaryCall;
  PlanSave(argument: _pulse_v1_PlanSaveRequest, callback: grpc.requestCallback<_pulse_v1_PlanSaveResponse__Output>): grpc.ClientUnaryCall;
  /**
   * The direct path, on S3 stores: checkpoint bytes go between the client
   * and the bucket, and the runtime plans, verifies and commits.
   * 
   * Plans (part of) a save: for each chunk the store lacks, a presigned PUT
   * of exactly that chunk's key, signed with its SHA-256. The client PUTs
   * them, then commits with SaveCheckpoint: its header names the plan, and
   * `chunk` messages name every chunk in order. FAILED_PRECONDITION when the
   * runtime offers no direct path (an fs store, storage.direct_transfer off):
   * save with SaveCheckpoint's data messages then.
   */
  planSave(argument: _pulse_v1_PlanSaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_PlanSaveResponse__Output>): grpc.ClientUnaryCall;
  planSave(argument: _pulse_v1_PlanSaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_PlanSaveResponse__Output>): grpc.ClientUnaryCall;
  planSave(argument: _pulse_v1_PlanSaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_PlanSaveResponse__Output>): grpc.ClientUnaryCall;
  planSave(argument: _pulse_v1_PlanSaveRequest, callback: grpc.requestCallback<_pulse_v1_PlanSaveResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Registers a dataset, or updates the path and metadata of one already registered.
   */
  RegisterDataset(argument: _pulse_v1_RegisterDatasetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RegisterDatasetResponse__Output>): grpc.ClientUnaryCall;
  RegisterDataset(argument: _pulse_v1_RegisterDatasetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_RegisterDatasetResponse__Output>): grpc.ClientUnaryCall;
  RegisterDataset(argument: _pulse_v1_RegisterDatasetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RegisterDatasetResponse__Output>): grpc.ClientUnaryCall;
  RegisterDataset(argument: _pulse_v1_RegisterDatasetRequest, callback: grpc.requestCallback<_pulse_v1_RegisterDatasetResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Registers a dataset, or updates the path and metadata of one already registered.
   */
  registerDataset(argument: _pulse_v1_RegisterDatasetRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RegisterDatasetResponse__Output>): grpc.ClientUnaryCall;
  registerDataset(argument: _pulse_v1_RegisterDatasetRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_RegisterDatasetResponse__Output>): grpc.ClientUnaryCall;
  registerDataset(argument: _pulse_v1_RegisterDatasetRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RegisterDatasetResponse__Output>): grpc.ClientUnaryCall;
  registerDataset(argument: _pulse_v1_RegisterDatasetRequest, callback: grpc.requestCallback<_pulse_v1_RegisterDatasetResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Registers a worker, or updates the metadata of one already registered.
   */
  RegisterWorker(argument: _pulse_v1_RegisterWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RegisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _pulse_v1_RegisterWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_RegisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _pulse_v1_RegisterWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RegisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  RegisterWorker(argument: _pulse_v1_RegisterWorkerRequest, callback: grpc.requestCallback<_pulse_v1_RegisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Registers a worker, or updates the metadata of one already registered.
   */
  registerWorker(argument: _pulse_v1_RegisterWorkerRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RegisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _pulse_v1_RegisterWorkerRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_RegisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _pulse_v1_RegisterWorkerRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RegisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  registerWorker(argument: _pulse_v1_RegisterWorkerRequest, callback: grpc.requestCallback<_pulse_v1_RegisterWorkerResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Deletes the chunks that no manifest references and that were written
   * before the grace period (garbage collection); admin only.
   */
  RunGc(argument: _pulse_v1_RunGcRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RunGcResponse__Output>): grpc.ClientUnaryCall;
  RunGc(argument: _pulse_v1_RunGcRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_RunGcResponse__Output>): grpc.ClientUnaryCall;
  RunGc(argument: _pulse_v1_RunGcRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RunGcResponse__Output>): grpc.ClientUnaryCall;
  RunGc(argument: _pulse_v1_RunGcRequest, callback: grpc.requestCallback<_pulse_v1_RunGcResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Deletes the chunks that no manifest references and that were written
   * before the grace period (garbage collection); admin only.
   */
  runGc(argument: _pulse_v1_RunGcRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RunGcResponse__Output>): grpc.ClientUnaryCall;
  runGc(argument: _pulse_v1_RunGcRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_RunGcResponse__Output>): grpc.ClientUnaryCall;
  runGc(argument: _pulse_v1_RunGcRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_RunGcResponse__Output>): grpc.ClientUnaryCall;
  runGc(argument: _pulse_v1_RunGcRequest, callback: grpc.requestCallback<_pulse_v1_RunGcResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * Saves a checkpoint: the first message is the header, the rest carry data.
   */
  SaveCheckpoint(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_SaveCheckpointResponse__Output>): grpc.ClientWritableStream<_pulse_v1_SaveCheckpointRequest>;
  SaveCheckpoint(metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_SaveCheckpointResponse__Output>): grpc.ClientWritableStream<_pulse_v1_SaveCheckpointRequest>;
  SaveCheckpoint(options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_SaveCheckpointResponse__Output>): grpc.ClientWritableStream<_pulse_v1_SaveCheckpointRequest>;
  SaveCheckpoint(callback: grpc.requestCallback<_pulse_v1_SaveCheckpointResponse__Output>): grpc.ClientWritableStream<_pulse_v1_SaveCheckpointRequest>;
  /**
   * Saves a checkpoint: the first message is the header, the rest carry data.
   */
  saveCheckpoint(metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_SaveCheckpointResponse__Output>): grpc.ClientWritableStream<_pulse_v1_SaveCheckpointRequest>;
  saveCheckpoint(metadata: grpc.Metadata, callback: grpc.requestCallback<_pulse_v1_SaveCheckpointResponse__Output>): grpc.ClientWritableStream<_pulse_v1_SaveCheckpointRequest>;
  saveCheckpoint(options: grpc.CallOptions, callback: grpc.requestCallback<_pulse_v1_SaveCheckpointResponse__Output>): grpc.ClientWritableStream<_pulse_v1_SaveCheckpointRequest>;
  saveCheckpoint(callback: grpc.requestCallback<_pulse_v1_SaveCheckpointResponse__Output>): grpc.ClientWritableStream<_pulse_v1_SaveCheckpointRequest>;
  
  /**
   * Verifies every stored chunk against its SHA-256, finds the checkpoints
   * each bad chunk breaks, and moves the bad chunks aside (to quarantine/)
   * unless dry_run: the next save that has their bytes then writes them again,
   * which repairs every checkpoint that names them. Streams progress messages,
   * then one message per bad chunk, then the report. One scrub runs at a time;
   * admin only.
   */
  Scrub(argument: _pulse_v1_ScrubRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pulse_v1_ScrubResponse__Output>;
  Scrub(argument: _pulse_v1_ScrubRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pulse_v1_ScrubResponse__Output>;
  /**
   * Verifies every stored chunk against its SHA-256, finds the checkpoints
   * each bad chunk breaks, and moves the bad chunks aside (to quarantine/)
   * unless dry_run: the next save that has their bytes then writes them again,
   * which repairs every checkpoint that names them. Streams progress messages,
   * then one message per bad chunk, then the report. One scrub runs at a time;
   * admin only.
   */
  scrub(argument: _pulse_v1_ScrubRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_pulse_v1_ScrubResponse__Output>;
  scrub(argument: _pulse_v1_ScrubRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_pulse_v1_ScrubResponse__Output>;
  
}

export interface PulseRuntimeHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Job checkpoints: at each step of a distributed job every rank saves its
   * shard (SaveCheckpoint, or the direct path, with the header's `shard`),
   * and the step becomes visible all or nothing.
   * 
   * Commits a step: waits (up to timeout_ms) until every rank's shard is
   * durable, then writes the step's record, once, whichever runtime decides;
   * calls after the first return the same step. ABORTED, naming the missing
   * ranks, when the deadline passes or a rank's worker goes STALE first.
   */
  CommitStep: grpc.handleUnaryCall<_pulse_v1_CommitStepRequest__Output, _pulse_v1_CommitStepResponse>;
  
  DeleteCheckpoint: grpc.handleUnaryCall<_pulse_v1_DeleteCheckpointRequest__Output, _pulse_v1_DeleteCheckpointResponse>;
  
  /**
   * Marks a worker as gone; its checkpoints stay.
   */
  DeregisterWorker: grpc.handleUnaryCall<_pulse_v1_DeregisterWorkerRequest__Output, _pulse_v1_DeregisterWorkerResponse>;
  
  GetCheckpoint: grpc.handleUnaryCall<_pulse_v1_GetCheckpointRequest__Output, _pulse_v1_GetCheckpointResponse>;
  
  GetDataset: grpc.handleUnaryCall<_pulse_v1_GetDatasetRequest__Output, _pulse_v1_GetDatasetResponse>;
  
  /**
   * A step with its state; without a step, the job's latest COMPLETE one.
   */
  GetStep: grpc.handleUnaryCall<_pulse_v1_GetStepRequest__Output, _pulse_v1_GetStepResponse>;
  
  GetWorker: grpc.handleUnaryCall<_pulse_v1_GetWorkerRequest__Output, _pulse_v1_GetWorkerResponse>;
  
  /**
   * Records that a worker is alive.
   */
  Heartbeat: grpc.handleUnaryCall<_pulse_v1_HeartbeatRequest__Output, _pulse_v1_HeartbeatResponse>;
  
  /**
   * Lists a worker's checkpoints, newest first.
   */
  ListCheckpoints: grpc.handleUnaryCall<_pulse_v1_ListCheckpointsRequest__Output, _pulse_v1_ListCheckpointsResponse>;
  
  ListDatasets: grpc.handleUnaryCall<_pulse_v1_ListDatasetsRequest__Output, _pulse_v1_ListDatasetsResponse>;
  
  /**
   * A job's decided steps (COMPLETE and ABORTED), newest first.
   */
  ListSteps: grpc.handleUnaryCall<_pulse_v1_ListStepsRequest__Output, _pulse_v1_ListStepsResponse>;
  
  ListWorkers: grpc.handleUnaryCall<_pulse_v1_ListWorkersRequest__Output, _pulse_v1_ListWorkersResponse>;
  
  /**
   * Loads a checkpoint: the first message is the checkpoint, the rest carry data.
   */
  LoadCheckpoint: grpc.handleServerStreamingCall<_pulse_v1_LoadCheckpointRequest__Output, _pulse_v1_LoadCheckpointResponse>;
  
  /**
   * A checkpoint's chunks with presigned GETs, a page at a time, for a load
   * straight from the bucket; every chunk is verified by the client against
   * its SHA-256. FAILED_PRECONDITION when the runtime offers no direct path.
   */
  PlanLoad: grpc.handleUnaryCall<_pulse_v1_PlanLoadRequest__Output, _pulse_v1_PlanLoadResponse>;
  
  /**
   * The direct path, on S3 stores: checkpoint bytes go between the client
   * and the bucket, and the runtime plans, verifies and commits.
   * 
   * Plans (part of) a save: for each chunk the store lacks, a presigned PUT
   * of exactly that chunk's key, signed with its SHA-256. The client PUTs
   * them, then commits with SaveCheckpoint: its header names the plan, and
   * `chunk` messages name every chunk in order. FAILED_PRECONDITION when the
   * runtime offers no direct path (an fs store, storage.direct_transfer off):
   * save with SaveCheckpoint's data messages then.
   */
  PlanSave: grpc.handleUnaryCall<_pulse_v1_PlanSaveRequest__Output, _pulse_v1_PlanSaveResponse>;
  
  /**
   * Registers a dataset, or updates the path and metadata of one already registered.
   */
  RegisterDataset: grpc.handleUnaryCall<_pulse_v1_RegisterDatasetRequest__Output, _pulse_v1_RegisterDatasetResponse>;
  
  /**
   * Registers a worker, or updates the metadata of one already registered.
   */
  RegisterWorker: grpc.handleUnaryCall<_pulse_v1_RegisterWorkerRequest__Output, _pulse_v1_RegisterWorkerResponse>;
  
  /**
   * Deletes the chunks that no manifest references and that were written
   * before the grace period (garbage collection); admin only.
   */
  RunGc: grpc.handleUnaryCall<_pulse_v1_RunGcRequest__Output, _pulse_v1_RunGcResponse>;
  
  /**
   * Saves a checkpoint: the first message is the header, the rest carry data.
   */
  SaveCheckpoint: grpc.handleClientStreamingCall<_pulse_v1_SaveCheckpointRequest__Output, _pulse_v1_SaveCheckpointResponse>;
  
  /**
   * Verifies every stored chunk against its SHA-256, finds the checkpoints
   * each bad chunk breaks, and moves the bad chunks aside (to quarantine/)
   * unless dry_run: the next save that has their bytes then writes them again,
   * which repairs every checkpoint that names them. Streams progress messages,
   * then one message per bad chunk, then the report. One scrub runs at a time;
   * admin only.
   */
  Scrub: grpc.handleServerStreamingCall<_pulse_v1_ScrubRequest__Output, _pulse_v1_ScrubResponse>;
  
}

export interface PulseRuntimeDefinition extends grpc.ServiceDefinition {
  CommitStep: MethodDefinition<_pulse_v1_CommitStepRequest, _pulse_v1_CommitStepResponse, _pulse_v1_CommitStepRequest__Output, _pulse_v1_CommitStepResponse__Output>
  DeleteCheckpoint: MethodDefinition<_pulse_v1_DeleteCheckpointRequest, _pulse_v1_DeleteCheckpointResponse, _pulse_v1_DeleteCheckpointRequest__Output, _pulse_v1_DeleteCheckpointResponse__Output>
  DeregisterWorker: MethodDefinition<_pulse_v1_DeregisterWorkerRequest, _pulse_v1_DeregisterWorkerResponse, _pulse_v1_DeregisterWorkerRequest__Output, _pulse_v1_DeregisterWorkerResponse__Output>
  GetCheckpoint: MethodDefinition<_pulse_v1_GetCheckpointRequest, _pulse_v1_GetCheckpointResponse, _pulse_v1_GetCheckpointRequest__Output, _pulse_v1_GetCheckpointResponse__Output>
  GetDataset: MethodDefinition<_pulse_v1_GetDatasetRequest, _pulse_v1_GetDatasetResponse, _pulse_v1_GetDatasetRequest__Output, _pulse_v1_GetDatasetResponse__Output>
  GetStep: MethodDefinition<_pulse_v1_GetStepRequest, _pulse_v1_GetStepResponse, _pulse_v1_GetStepRequest__Output, _pulse_v1_GetStepResponse__Output>
  GetWorker: MethodDefinition<_pulse_v1_GetWorkerRequest, _pulse_v1_GetWorkerResponse, _pulse_v1_GetWorkerRequest__Output, _pulse_v1_GetWorkerResponse__Output>
  Heartbeat: MethodDefinition<_pulse_v1_HeartbeatRequest, _pulse_v1_HeartbeatResponse, _pulse_v1_HeartbeatRequest__Output, _pulse_v1_HeartbeatResponse__Output>
  ListCheckpoints: MethodDefinition<_pulse_v1_ListCheckpointsRequest, _pulse_v1_ListCheckpointsResponse, _pulse_v1_ListCheckpointsRequest__Output, _pulse_v1_ListCheckpointsResponse__Output>
  ListDatasets: MethodDefinition<_pulse_v1_ListDatasetsRequest, _pulse_v1_ListDatasetsResponse, _pulse_v1_ListDatasetsRequest__Output, _pulse_v1_ListDatasetsResponse__Output>
  ListSteps: MethodDefinition<_pulse_v1_ListStepsRequest, _pulse_v1_ListStepsResponse, _pulse_v1_ListStepsRequest__Output, _pulse_v1_ListStepsResponse__Output>
  ListWorkers: MethodDefinition<_pulse_v1_ListWorkersRequest, _pulse_v1_ListWorkersResponse, _pulse_v1_ListWorkersRequest__Output, _pulse_v1_ListWorkersResponse__Output>
  LoadCheckpoint: MethodDefinition<_pulse_v1_LoadCheckpointRequest, _pulse_v1_LoadCheckpointResponse, _pulse_v1_LoadCheckpointRequest__Output, _pulse_v1_LoadCheckpointResponse__Output>
  PlanLoad: MethodDefinition<_pulse_v1_PlanLoadRequest, _pulse_v1_PlanLoadResponse, _pulse_v1_PlanLoadRequest__Output, _pulse_v1_PlanLoadResponse__Output>
  PlanSave: MethodDefinition<_pulse_v1_PlanSaveRequest, _pulse_v1_PlanSaveResponse, _pulse_v1_PlanSaveRequest__Output, _pulse_v1_PlanSaveResponse__Output>
  RegisterDataset: MethodDefinition<_pulse_v1_RegisterDatasetRequest, _pulse_v1_RegisterDatasetResponse, _pulse_v1_RegisterDatasetRequest__Output, _pulse_v1_RegisterDatasetResponse__Output>
  RegisterWorker: MethodDefinition<_pulse_v1_RegisterWorkerRequest, _pulse_v1_RegisterWorkerResponse, _pulse_v1_RegisterWorkerRequest__Output, _pulse_v1_RegisterWorkerResponse__Output>
  RunGc: MethodDefinition<_pulse_v1_RunGcRequest, _pulse_v1_RunGcResponse, _pulse_v1_RunGcRequest__Output, _pulse_v1_RunGcResponse__Output>
  SaveCheckpoint: MethodDefinition<_pulse_v1_SaveCheckpointRequest, _pulse_v1_SaveCheckpointResponse, _pulse_v1_SaveCheckpointRequest__Output, _pulse_v1_SaveCheckpointResponse__Output>
  Scrub: MethodDefinition<_pulse_v1_ScrubRequest, _pulse_v1_ScrubResponse, _pulse_v1_ScrubRequest__Output, _pulse_v1_ScrubResponse__Output>
}
