//! The wire format, pinned: literal JSON in, literal JSON out (mini-redis style). If one of
//! these changes, every worker and pool in the field must change with it.
#![allow(clippy::unwrap_used)]

use msq_common::{ErrorCode, WorkerNumber};
use msq_protocol::from_worker::{DigestReply, Fault, Pong, Ready};
use msq_protocol::to_worker::{Init, Ping};
use msq_protocol::{Envelope, FromWorker, ToWorker};
use serde_json::{json, Value};

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap()
}

#[test]
fn to_worker_messages() {
    let init = Envelope {
        id: 1,
        reply_to: None,
        message: ToWorker::Init(Init {
            worker_number: WorkerNumber(2),
        }),
    };
    assert_eq!(
        to_json(&init),
        json!({"id": 1, "message": {"type": "init", "workerNumber": 2}})
    );
    let ping: Envelope<ToWorker> =
        serde_json::from_value(json!({"id": 9, "message": {"type": "ping"}})).unwrap();
    assert_eq!(ping.message, ToWorker::Ping(Ping {}));
    let digest: Envelope<ToWorker> =
        serde_json::from_value(json!({"id": 3, "message": {"type": "digest"}})).unwrap();
    assert!(matches!(digest.message, ToWorker::Digest(_)));
}

#[test]
fn from_worker_messages() {
    let cases = [
        (
            FromWorker::Ready(Ready {
                worker_number: WorkerNumber(0),
                memory_bytes: 65536,
            }),
            json!({"type": "ready", "workerNumber": 0, "memoryBytes": 65536}),
        ),
        (
            FromWorker::Pong(Pong {
                worker_number: None,
                memory_bytes: 1,
                uptime_ms: 2.5,
            }),
            json!({"type": "pong", "workerNumber": null, "memoryBytes": 1, "uptimeMs": 2.5}),
        ),
        (
            FromWorker::DigestReply(DigestReply {
                bytes: 6,
                fnv1a: "85944171f73967e8".into(),
            }),
            json!({"type": "digestReply", "bytes": 6, "fnv1a": "85944171f73967e8"}),
        ),
        (
            FromWorker::Fault(Fault {
                error_code: ErrorCode::WorkerFailed,
                error_message: "panicked at x".into(),
            }),
            json!({"type": "fault", "errorCode": "WorkerFailed", "errorMessage": "panicked at x"}),
        ),
    ];
    for (message, expected) in cases {
        let env = Envelope {
            id: 4,
            reply_to: Some(3),
            message,
        };
        let mut want = json!({"id": 4, "replyTo": 3});
        want["message"] = expected;
        assert_eq!(to_json(&env), want);
        let back: Envelope<FromWorker> = serde_json::from_value(want).unwrap();
        assert_eq!(back, env);
    }
}

#[test]
fn unknown_message_types_are_rejected_with_the_type_named() {
    let err = serde_json::from_value::<Envelope<ToWorker>>(
        json!({"id": 1, "message": {"type": "explode"}}),
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unknown variant `explode`"),
        "{err}"
    );
}
