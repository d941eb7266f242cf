// Types of `window.acorn`, Acorn's in-tab Druid API (installed by crates/msq-wasm/src/bridge.rs).
// Every call answers what the Druid endpoint of the same name answers; a non-2xx answer
// rejects with an AcornError carrying the HTTP status and Druid's error body.

/** Query context parameters (druid-msq.md: maxNumTasks, finalizeAggregations, rowsPerSegment, …). */
export type QueryContext = Record<string, string | number | boolean | null>;

/** Druid's task states. */
export type TaskState = 'RUNNING' | 'SUCCESS' | 'FAILED';

/** `POST /druid/v2/sql/task` → `{ taskId, state }`. */
export interface SqlTaskResponse { taskId: string; state: TaskState }

/** `GET /druid/indexer/v1/task/<id>/status`. */
export interface TaskStatusResponse {
  task: string;
  status: {
    id: string; type: string; createdTime: string; queueInsertionTime: string;
    statusCode: TaskState; status: TaskState; runnerStatusCode: string;
    duration: number; location: { host: string | null; port: number; tlsPort: number };
    dataSource: string; errorMsg?: string;
  };
}

/** `GET /druid/indexer/v1/task/<id>/reports`: the multiStageQuery report (see sql-ingestion-api.md). */
export interface TaskReport {
  multiStageQuery: { type: 'multiStageQuery'; taskId: string; payload: Record<string, unknown> };
}

/** The rejection of a call whose answer was not 2xx. */
export interface AcornError extends Error { status: number; body: unknown }

export interface AcornApi {
  /** `POST /druid/v2/sql/task`. */
  submit(query: string, context?: QueryContext): Promise<SqlTaskResponse>;
  /** `GET /druid/indexer/v1/task/<id>/status`. */
  status(taskId: string): Promise<TaskStatusResponse>;
  /** `GET /druid/indexer/v1/task/<id>/reports`. */
  report(taskId: string): Promise<TaskReport>;
  /** `POST /druid/indexer/v1/task/<id>/shutdown` → `{ task }`. */
  shutdown(taskId: string): Promise<{ task: string }>;
  /** `GET /druid/indexer/v1/task/<id>` → `{ task, payload }`. */
  task(taskId: string): Promise<{ task: string; payload: Record<string, unknown> }>;
  /** `POST /druid/v2/sql` (interactive; sys and INFORMATION_SCHEMA tables, datasources) → rows as objects. */
  sql(query: string, context?: QueryContext): Promise<Array<Record<string, unknown>>>;
  /** `DELETE /druid/coordinator/v1/datasources/<name>`: marks every segment unused (the datasource disappears). */
  dropDatasource(name: string): Promise<{ numChangedSegments: number }>;
  /** Any endpoint by method and path, e.g. `request('GET', '/druid/indexer/v1/task/' + id + '/status')`. */
  request(method: string, path: string, body?: unknown): Promise<unknown>;
}

declare global {
  interface Window { acorn: AcornApi }
}
