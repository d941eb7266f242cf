//! How many workers a query asks for.
//!
//! Druid's `maxNumTasks` counts *all* tasks of a query including its controller, defaults to 2
//! and must be at least 2 (spec `druid-msq.md` §2; `numTasks` is its legacy alias). Acorn runs
//! the controller separately, so a query gets `maxNumTasks − 1` workers — bounded here by the
//! machine's `hardwareConcurrency`, since a browser tab gains nothing from more workers than
//! cores.

use msq_common::{plan_err, Result};
use serde_json::{Map, Value};

/// Druid's default `maxNumTasks` (controller + 1 worker).
pub const DEFAULT_MAX_NUM_TASKS: u64 = 2;

/// The outcome of [`worker_count`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerCount {
    /// Workers to start.
    pub workers: usize,
    /// Workers the context asked for (`maxNumTasks − 1`).
    pub requested: usize,
    /// Whether `workers < requested` because of the core count.
    pub capped: bool,
}

/// Workers for a query `context`: `maxNumTasks − 1` (or `numTasks − 1`), capped at
/// `hardware_concurrency` (at least 1).
///
/// # Errors
/// `InvalidInput` when `maxNumTasks` is not a whole number or is below 2, worded as Druid's
/// broker words it.
///
/// ```
/// use msq_protocol::sizing::worker_count;
/// let ctx = serde_json::json!({"maxNumTasks": 3});
/// let n = worker_count(ctx.as_object().unwrap(), 8).unwrap();
/// assert_eq!((n.workers, n.requested, n.capped), (2, 2, false));
/// ```
pub fn worker_count(
    context: &Map<String, Value>,
    hardware_concurrency: u32,
) -> Result<WorkerCount> {
    let (key, value) = match (context.get("maxNumTasks"), context.get("numTasks")) {
        (Some(v), _) => ("maxNumTasks", v),
        (None, Some(v)) => ("numTasks", v),
        (None, None) => ("maxNumTasks", &Value::Null),
    };
    let max_num_tasks = match value {
        Value::Null => DEFAULT_MAX_NUM_TASKS,
        Value::Number(n) => match n.as_u64() {
            Some(n) => n,
            None => plan_err!("{key} must be a whole number, got [{n}]"),
        },
        // The console's context editor and URL parameters deliver strings.
        Value::String(s) => match s.trim().parse::<u64>() {
            Ok(n) => n,
            Err(_) => plan_err!("{key} must be a whole number, got [{s}]"),
        },
        other => plan_err!("{key} must be a whole number, got [{other}]"),
    };
    if max_num_tasks < 2 {
        plan_err!(
            "{key} must be at least 2 (one controller and one worker), got [{max_num_tasks}]"
        );
    }
    let requested = usize::try_from(max_num_tasks - 1).unwrap_or(usize::MAX);
    let limit = usize::try_from(hardware_concurrency.max(1)).unwrap_or(1);
    let workers = requested.min(limit);
    Ok(WorkerCount {
        workers,
        requested,
        capped: workers < requested,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn count(ctx: Value, cores: u32) -> Result<WorkerCount> {
        worker_count(ctx.as_object().unwrap(), cores)
    }

    #[test]
    fn default_is_one_worker() {
        let n = count(json!({}), 4).unwrap();
        assert_eq!((n.workers, n.requested, n.capped), (1, 1, false));
    }

    #[test]
    fn capped_by_cores() {
        let n = count(json!({"maxNumTasks": 9}), 2).unwrap();
        assert_eq!((n.workers, n.requested, n.capped), (2, 8, true));
        // A browser that reports 0 cores still gets one worker.
        assert_eq!(count(json!({"maxNumTasks": 3}), 0).unwrap().workers, 1);
    }

    #[test]
    fn legacy_alias_and_strings() {
        assert_eq!(count(json!({"numTasks": 4}), 8).unwrap().workers, 3);
        assert_eq!(count(json!({"maxNumTasks": " 3 "}), 8).unwrap().workers, 2);
        // maxNumTasks wins over its alias.
        assert_eq!(
            count(json!({"maxNumTasks": 2, "numTasks": 5}), 8)
                .unwrap()
                .workers,
            1
        );
    }

    #[test]
    fn invalid_values_name_the_key() {
        let e = count(json!({"maxNumTasks": 1}), 8).unwrap_err();
        assert_eq!(e.code(), msq_common::ErrorCode::InvalidInput);
        assert!(
            e.message().contains("maxNumTasks must be at least 2"),
            "{e}"
        );
        let e = count(json!({"numTasks": "many"}), 8).unwrap_err();
        assert!(
            e.message()
                .contains("numTasks must be a whole number, got [many]"),
            "{e}"
        );
        let e = count(json!({"maxNumTasks": 2.5}), 8).unwrap_err();
        assert!(e.message().contains("got [2.5]"), "{e}");
        assert!(count(json!({"maxNumTasks": true}), 8).is_err());
    }
}
