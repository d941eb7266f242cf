//! [`LocalCluster`]: the whole engine in one thread for native tests, the golden corpus and
//! benchmarks — an [`Engine`] whose controller and workers are futures on a `LocalPool`, reading
//! files through a [`FileFetcher`]-style fetcher and writing segments to any store.

use crate::engine::{ApiError, Engine, EngineEnv};
use crate::env::{Clock, Fetcher, PoolSpawner};
use crate::store::SharedStore;
use futures::executor::LocalPool;
use msq_exec::segment::{MemorySegmentStore, SegmentStore};
use msq_model::{SqlTaskRequest, TaskReport};
use serde_json::{Map, Value};
use std::rc::Rc;

/// An engine plus the executor that runs it.
pub struct LocalCluster {
    pool: LocalPool,
    engine: Engine,
}

impl std::fmt::Debug for LocalCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCluster")
            .field("engine", &self.engine)
            .finish()
    }
}

impl LocalCluster {
    /// A cluster reading through `fetcher` and storing segments in memory.
    pub fn new(fetcher: impl Fetcher + 'static, clock: impl Clock + 'static) -> Self {
        Self::with_store(fetcher, clock, MemorySegmentStore::new())
    }

    /// A cluster over a given segment store (e.g. a directory that outlives it).
    pub fn with_store(
        fetcher: impl Fetcher + 'static,
        clock: impl Clock + 'static,
        store: impl SegmentStore + 'static,
    ) -> Self {
        let pool = LocalPool::new();
        let spawner = PoolSpawner(pool.spawner());
        let engine = Engine::new(EngineEnv::local(
            Rc::new(fetcher),
            SharedStore::new(store),
            Rc::new(clock),
            Rc::new(spawner),
        ));
        Self { pool, engine }
    }

    /// A cluster whose workers run on `hosts` [`crate::remote::StageHost`]s joined to the
    /// controller by queues ([`crate::remote::loopback`]): every work order, event, frame and
    /// segment crosses the same protocol as between the browser's Web Workers. Segments in
    /// memory.
    pub fn with_hosts(
        fetcher: impl Fetcher + 'static,
        clock: impl Clock + 'static,
        hosts: u32,
    ) -> Self {
        Self::hosts_over(
            fetcher,
            clock,
            hosts,
            MemorySegmentStore::new(),
            false,
            false,
        )
    }

    /// [`LocalCluster::with_hosts`] placing queries as the browser does
    /// ([`crate::transport::SmallQueriesHere`]): queries over small datasources run their
    /// workers beside the controller, everything else on the hosts.
    pub fn with_hosts_for_large_queries(
        fetcher: impl Fetcher + 'static,
        clock: impl Clock + 'static,
        hosts: u32,
    ) -> Self {
        let store = MemorySegmentStore::new();
        Self::hosts_over(fetcher, clock, hosts, store, false, true)
    }

    /// [`LocalCluster::with_hosts`] over a given segment store, which the hosts write the
    /// segment files they generate into themselves, as the browser's stage workers write the
    /// engine's OPFS store ([`msq_exec::segment::SegmentStore::adopt_segment`]).
    pub fn with_hosts_and_store(
        fetcher: impl Fetcher + 'static,
        clock: impl Clock + 'static,
        hosts: u32,
        store: impl SegmentStore + 'static,
    ) -> Self {
        Self::hosts_over(fetcher, clock, hosts, store, true, false)
    }

    /// A cluster on loopback hosts over `store`, with small queries beside the controller when
    /// `small_queries_here`.
    fn hosts_over(
        fetcher: impl Fetcher + 'static,
        clock: impl Clock + 'static,
        hosts: u32,
        store: impl SegmentStore + 'static,
        hosts_write_segments: bool,
        small_queries_here: bool,
    ) -> Self {
        let pool = LocalPool::new();
        let spawner: Rc<dyn crate::env::Spawner> = Rc::new(PoolSpawner(pool.spawner()));
        let fetcher: Rc<dyn Fetcher> = Rc::new(fetcher);
        let clock: Rc<dyn Clock> = Rc::new(clock);
        let store = SharedStore::new(store);
        let mut env = EngineEnv::local(
            fetcher.clone(),
            store.clone(),
            clock.clone(),
            spawner.clone(),
        );
        env.transports = Rc::new(crate::remote::loopback::hosts(
            hosts,
            store,
            hosts_write_segments,
            fetcher,
            clock,
            spawner,
        ));
        if small_queries_here {
            env = env.with_small_queries_here();
        }
        Self {
            pool,
            engine: Engine::new(env),
        }
    }

    /// The engine (the Druid API).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs every spawned future until none can make progress (all tasks finished or waiting).
    pub fn run_until_stalled(&mut self) {
        self.pool.run_until_stalled();
    }

    /// Submits `sql` with `context`, runs it to the end and returns its final report.
    ///
    /// # Errors
    /// The 400 the API would answer for SQL the planner rejects. A query that fails while
    /// running is not an error here: its report says FAILED.
    pub fn run(&mut self, sql: &str, context: Map<String, Value>) -> Result<TaskReport, ApiError> {
        let mut request = SqlTaskRequest::new(sql);
        request.context = context;
        self.run_request(&request)
    }

    /// `POST /druid/v2/sql` (the interactive API), run to the end.
    ///
    /// # Errors
    /// As [`Engine::sql`].
    pub fn sql(&mut self, request: &SqlTaskRequest) -> Result<Value, ApiError> {
        let engine = self.engine.clone();
        let request = request.clone();
        self.pool
            .run_until(async move { engine.sql(&request).await })
    }

    /// `GET /druid/indexer/v1/workers` ([`Engine::workers`]), answered on the cluster's
    /// executor (the hosts run there).
    pub fn workers(&mut self) -> Value {
        let engine = self.engine.clone();
        self.pool.run_until(async move { engine.workers().await })
    }

    /// As [`LocalCluster::run`] for a full request (parameters included).
    ///
    /// # Errors
    /// As [`LocalCluster::run`].
    pub fn run_request(&mut self, request: &SqlTaskRequest) -> Result<TaskReport, ApiError> {
        let response = self.engine.submit(request)?;
        self.pool.run_until_stalled();
        self.engine
            .report(&response.task_id)
            .ok_or_else(|| ApiError::not_found(&response.task_id))
    }
}
