//! The Workers panel's model: the in-browser engine's stage threads, read from
//! `GET /druid/indexer/v1/workers` (Druid's overlord worker list, with each thread's vital signs
//! under `acorn`).

use serde_json::Value;

/// One stage thread (a Web Worker the engine started) as the panel shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerThread {
    /// Its number (the order of the list).
    pub number: usize,
    /// `worker.host`, e.g. `stage-worker-0`.
    pub host: String,
    /// Whether it answered; `Err` holds why not.
    pub state: Result<ThreadVitals, String>,
}

/// What a thread that answered says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadVitals {
    /// Its wasm memory.
    pub memory_bytes: u64,
    /// Work orders running now (`currCapacityUsed`).
    pub running: u64,
    /// Work orders it has finished.
    pub run: u64,
    /// Stage output it holds for consumers.
    pub shuffle_bytes: u64,
}

impl WorkerThread {
    /// `"ready"` or `"failed"`, for CSS classes and data attributes.
    pub fn state_name(&self) -> &'static str {
        match self.state {
            Ok(_) => "ready",
            Err(_) => "failed",
        }
    }
}

/// The threads in a `GET /druid/indexer/v1/workers` answer.
///
/// # Errors
/// When the answer is not a list.
pub fn parse_workers(body: &Value) -> Result<Vec<WorkerThread>, String> {
    let list = body
        .as_array()
        .ok_or_else(|| format!("the workers list is not a JSON array: {body}"))?;
    Ok(list
        .iter()
        .enumerate()
        .map(|(number, entry)| {
            let acorn = &entry["acorn"];
            let u = |v: &Value| v.as_u64().unwrap_or(0);
            let state = match acorn["state"].as_str() {
                Some("ready") => Ok(ThreadVitals {
                    memory_bytes: u(&acorn["memoryBytes"]),
                    running: u(&entry["currCapacityUsed"]),
                    run: u(&acorn["workOrdersRun"]),
                    shuffle_bytes: u(&acorn["shuffleBytes"]),
                }),
                _ => Err(acorn["error"]
                    .as_str()
                    .unwrap_or("it did not answer")
                    .to_owned()),
            };
            WorkerThread {
                number,
                host: entry["worker"]["host"]
                    .as_str()
                    .map_or_else(|| format!("stage-worker-{number}"), str::to_owned),
                state,
            }
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_ready_and_failed_threads() {
        let body = json!([
            {"worker": {"host": "stage-worker-0"}, "currCapacityUsed": 2,
             "acorn": {"state": "ready", "memoryBytes": 1_048_576, "shuffleBytes": 10, "workOrdersRun": 7}},
            {"worker": {"host": "stage-worker-1"}, "currCapacityUsed": 0,
             "acorn": {"state": "failed", "error": "worker thread 1 failed: out of memory"}},
        ]);
        let threads = parse_workers(&body).unwrap();
        assert_eq!(threads.len(), 2);
        assert_eq!(
            threads[0].state,
            Ok(ThreadVitals {
                memory_bytes: 1_048_576,
                running: 2,
                run: 7,
                shuffle_bytes: 10
            })
        );
        assert_eq!(threads[0].state_name(), "ready");
        assert_eq!(threads[1].host, "stage-worker-1");
        assert_eq!(
            threads[1].state,
            Err("worker thread 1 failed: out of memory".to_owned())
        );
    }

    #[test]
    fn a_non_list_is_an_error_naming_it() {
        let err = parse_workers(&json!({"error": "nope"})).unwrap_err();
        assert!(err.contains("not a JSON array"), "{err}");
    }
}
