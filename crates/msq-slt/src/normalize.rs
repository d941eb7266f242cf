//! Normalising a task report so that `report` records can pin it.
//!
//! A Druid task report (spec `druid-msq.md` §5) carries values that change on every run: the
//! task id (`query-<uuid>`), the query id inside stage ids (`<uuid>_0`), wall-clock times,
//! durations, hosts, stack traces and CPU counters. [`normalize_report`] replaces each with a
//! fixed placeholder, the way Druid's own quidem tests write `__TIMESTAMP__` (`msq1.iq`):
//!
//! | where | placeholder |
//! |---|---|
//! | any `taskId`, `workerTaskId`, `controllerTaskId` string value; any other string equal to the report's task id | `<taskId>` |
//! | any `queryId`/`sqlQueryId` string | `<queryId>` |
//! | a stage definition `id` `<anything>_<n>` | `<queryId>_<n>` |
//! | any `startTime` string | `__TIMESTAMP__` |
//! | any `duration` or `durationMs` number ≥ 0 (`-1`, "not started", stays); a started stage always gets one | `__DURATION__` |
//! | any `host` string | `__HOST__` |
//! | any `exceptionStackTrace` string | `__STACK_TRACE__` |
//! | the `bytes` array of a `channel` counter other than `input<N>` (frame bytes depend on the encoding; input bytes are file sizes and stay) | `__BYTES__` |
//! | a `cpu` counter (`{"type":"cpus",…}`) | `__CPU__` |
//!
//! Everything else — stage shapes, phases, row/file/frame counts, results — is kept, so a
//! `report` record pins what Druid users see.

use serde_json::Value;

/// Replaces the volatile fields of a task report with placeholders (see the module table).
/// Works on a whole report (`{"multiStageQuery": …}`) or any part of one; idempotent.
///
/// ```
/// use serde_json::json;
/// let mut r = json!({"multiStageQuery": {"taskId": "query-abc", "payload": {
///     "status": {"status": "SUCCESS", "startTime": "2026-01-01T00:00:00.000Z", "durationMs": 12},
///     "stages": [{"stageNumber": 0, "definition": {"id": "abc_0"}, "duration": 3}]}}});
/// msq_slt::normalize_report(&mut r);
/// let s = &r["multiStageQuery"];
/// assert_eq!(s["taskId"], "<taskId>");
/// assert_eq!(s["payload"]["status"]["startTime"], "__TIMESTAMP__");
/// assert_eq!(s["payload"]["status"]["durationMs"], "__DURATION__");
/// assert_eq!(s["payload"]["stages"][0]["definition"]["id"], "<queryId>_0");
/// ```
pub fn normalize_report(report: &mut Value) {
    let task_id = find_task_id(report);
    walk(report, None, task_id.as_deref());
}

fn find_task_id(v: &Value) -> Option<String> {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(s)) = m.get("taskId") {
                if !is_placeholder(s) {
                    return Some(s.clone());
                }
            }
            m.values().find_map(find_task_id)
        }
        Value::Array(a) => a.iter().find_map(find_task_id),
        _ => None,
    }
}

fn is_placeholder(s: &str) -> bool {
    s.starts_with('<') || s.starts_with("__")
}

fn stage_id(s: &str) -> Option<String> {
    let (_, n) = s.rsplit_once('_')?;
    (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())).then(|| format!("<queryId>_{n}"))
}

fn walk(v: &mut Value, key: Option<&str>, task_id: Option<&str>) {
    match v {
        Value::Object(m) => {
            // A started stage omits `duration` when it is 0 ms (Druid's omission rule), so
            // whether it appears depends on the machine's speed: always write the placeholder,
            // in its place before `sort`.
            if m.contains_key("stageNumber") && m.contains_key("startTime") {
                let sort = m.shift_remove("sort");
                m.shift_remove("duration");
                m.insert("duration".into(), Value::String("__DURATION__".into()));
                if let Some(sort) = sort {
                    m.insert("sort".into(), sort);
                }
            }
            let is_channel = m.get("type").and_then(Value::as_str) == Some("channel");
            let is_definition = key == Some("definition");
            for (k, child) in m.iter_mut() {
                match (k.as_str(), &*child) {
                    ("taskId" | "workerTaskId" | "controllerTaskId", Value::String(_)) => {
                        *child = Value::String("<taskId>".into());
                    }
                    ("queryId" | "sqlQueryId", Value::String(_)) => {
                        *child = Value::String("<queryId>".into());
                    }
                    ("id", Value::String(s)) if is_definition => {
                        if let Some(id) = stage_id(s) {
                            *child = Value::String(id);
                        }
                    }
                    ("startTime", Value::String(_)) => {
                        *child = Value::String("__TIMESTAMP__".into())
                    }
                    ("duration" | "durationMs", Value::Number(n))
                        if n.as_f64().is_some_and(|f| f >= 0.0) =>
                    {
                        *child = Value::String("__DURATION__".into());
                    }
                    ("host", Value::String(_)) => *child = Value::String("__HOST__".into()),
                    ("exceptionStackTrace", Value::String(_)) => {
                        *child = Value::String("__STACK_TRACE__".into());
                    }
                    ("bytes", Value::Array(_))
                        if is_channel && !key.is_some_and(|k| k.starts_with("input")) =>
                    {
                        *child = Value::String("__BYTES__".into());
                    }
                    ("cpu", Value::Object(c))
                        if c.get("type").and_then(Value::as_str) == Some("cpus") =>
                    {
                        *child = Value::String("__CPU__".into());
                    }
                    _ => walk(child, Some(k.as_str()), task_id),
                }
            }
        }
        Value::Array(a) => {
            for child in a {
                walk(child, key, task_id);
            }
        }
        Value::String(s) => {
            if let Some(t) = task_id {
                if s.contains(t) {
                    *s = s.replace(t, "<taskId>");
                }
            }
        }
        _ => {}
    }
}

/// Replaces every UUID in `text` (8-4-4-4-12 hex digits, the query ids inside EXPLAIN plans and
/// stage ids) with `<queryId>`, so `query` records over plans are stable across runs.
///
/// ```
/// assert_eq!(
///     msq_slt::normalize::normalize_ids(r#"{"id":"143c34b2-344e-43e1-9a48-726d5345d79a_0"}"#),
///     r#"{"id":"<queryId>_0"}"#
/// );
/// ```
pub fn normalize_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let groups = [8usize, 4, 4, 4, 12];
    let total: usize = groups.iter().sum::<usize>() + groups.len() - 1;
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if i + total <= bytes.len() && is_uuid(&bytes[i..i + total], &groups) {
            out.push_str("<queryId>");
            i += total;
            continue;
        }
        let ch = text[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn is_uuid(candidate: &[u8], groups: &[usize]) -> bool {
    let mut at = 0;
    for (n, &len) in groups.iter().enumerate() {
        if n > 0 {
            if candidate.get(at) != Some(&b'-') {
                return false;
            }
            at += 1;
        }
        if !candidate[at..at + len]
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        {
            return false;
        }
        at += len;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!({"multiStageQuery": {"type": "multiStageQuery", "taskId": "query-3dc0-11",
          "payload": {
            "status": {"status": "FAILED",
              "errorReport": {"taskId": "query-3dc0-11-worker0_0", "host": "localhost:8100", "stageNumber": 0,
                 "error": {"errorCode": "InsertTimeNull", "errorMessage": "Null timestamp (__time) encountered during INSERT or REPLACE."},
                 "exceptionStackTrace": "at x\nat y"},
              "startTime": "2026-11-25T20:00:00.000Z", "durationMs": 1234, "pendingTasks": 0, "runningTasks": 2},
            "stages": [
              {"stageNumber": 0, "definition": {"id": "9a1b-c2_0", "input": [{"type": "external"}]},
               "phase": "FAILED", "workerCount": 1, "startTime": "2026-11-25T20:00:00.100Z", "duration": 50},
              {"stageNumber": 1, "definition": {"id": "9a1b-c2_1"}, "phase": "NEW", "duration": -1}],
            "counters": {"0": {"0": {
              "input0": {"type": "channel", "rows": [6], "bytes": [330], "files": [1], "totalFiles": [1]},
              "output": {"type": "channel", "rows": [6], "bytes": [512], "frames": [1]},
              "cpu": {"type": "cpus", "main": {"type": "cpu", "cpu": 1, "wall": 2}},
              "warnings": {"type": "warnings", "CannotParseExternalData": 1}}}},
            "results": {"results": [["query-3dc0-11 in a value", 1]]}}}})
    }

    #[test]
    fn replaces_every_volatile_field() {
        let mut r = sample();
        normalize_report(&mut r);
        let p = &r["multiStageQuery"]["payload"];
        assert_eq!(r["multiStageQuery"]["taskId"], "<taskId>");
        assert_eq!(p["status"]["errorReport"]["taskId"], "<taskId>");
        assert_eq!(p["status"]["errorReport"]["host"], "__HOST__");
        assert_eq!(
            p["status"]["errorReport"]["exceptionStackTrace"],
            "__STACK_TRACE__"
        );
        assert_eq!(p["status"]["startTime"], "__TIMESTAMP__");
        assert_eq!(p["status"]["durationMs"], "__DURATION__");
        assert_eq!(p["stages"][0]["definition"]["id"], "<queryId>_0");
        assert_eq!(p["stages"][1]["definition"]["id"], "<queryId>_1");
        assert_eq!(p["stages"][0]["startTime"], "__TIMESTAMP__");
        assert_eq!(p["stages"][0]["duration"], "__DURATION__");
        assert_eq!(p["stages"][1]["duration"], -1);
        let w = &p["counters"]["0"]["0"];
        assert_eq!(w["input0"]["bytes"], json!([330]));
        assert_eq!(w["output"]["bytes"], "__BYTES__");
        assert_eq!(w["output"]["rows"], json!([6]));
        assert_eq!(w["cpu"], "__CPU__");
        assert_eq!(w["warnings"]["CannotParseExternalData"], 1);
        assert_eq!(p["results"]["results"][0][0], "<taskId> in a value");
        // Kept as is: what users see.
        assert_eq!(
            p["status"]["errorReport"]["error"]["errorCode"],
            "InsertTimeNull"
        );
        assert_eq!(p["stages"][0]["phase"], "FAILED");
    }

    #[test]
    fn is_idempotent() {
        let mut once = sample();
        normalize_report(&mut once);
        let mut twice = once.clone();
        normalize_report(&mut twice);
        assert_eq!(once, twice);
    }

    #[test]
    fn leaves_non_stage_ids_and_scalars_alone() {
        let mut v = json!({"definition": {"id": "no-suffix"}, "id": "x_1", "n": 5});
        normalize_report(&mut v);
        assert_eq!(
            v,
            json!({"definition": {"id": "no-suffix"}, "id": "x_1", "n": 5})
        );
    }
}
