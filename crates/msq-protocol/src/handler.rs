//! The worker-side dispatcher, as a pure function of the packets it receives.
//!
//! `msq-wasm` decodes a `MessageEvent` into a [`Packet<ToWorker>`], hands it to
//! [`WorkerHandler::handle`], and posts whatever comes back. Keeping the decisions here means
//! every branch (including every failure) is tested natively, and the glue cannot grow logic.

use crate::digest::fnv1a_hex;
use crate::envelope::{MessageId, Packet};
use crate::from_worker::{DigestReply, Fault, FromWorker, Hello, Pong, Ready};
use crate::to_worker::ToWorker;
use msq_common::{ErrorCode, WorkerNumber};

/// What the handler needs from the host it runs in.
pub trait WorkerEnv {
    /// Current size of the worker's linear memory, in bytes.
    fn memory_bytes(&self) -> u64;
    /// Milliseconds since the worker started.
    fn uptime_ms(&self) -> f64;
}

/// Per-worker state and message ids.
#[derive(Debug, Default)]
pub struct WorkerHandler {
    worker_number: Option<WorkerNumber>,
    next_id: MessageId,
}

impl WorkerHandler {
    /// A handler for a freshly started worker (no number yet).
    pub fn new() -> Self {
        Self::default()
    }

    /// The number given by `Init`, if any.
    pub fn worker_number(&self) -> Option<WorkerNumber> {
        self.worker_number
    }

    fn next_id(&mut self) -> MessageId {
        self.next_id += 1;
        self.next_id
    }

    /// The unsolicited first message, posted once the worker can receive.
    pub fn hello(&mut self) -> Packet<FromWorker> {
        let id = self.next_id();
        Packet::new(id, FromWorker::Hello(Hello {}))
    }

    /// A fault packet answering `request` (or unsolicited when `None`).
    pub fn fault(
        &mut self,
        request: Option<MessageId>,
        error_code: ErrorCode,
        error_message: impl Into<String>,
    ) -> Packet<FromWorker> {
        let id = self.next_id();
        let message = FromWorker::Fault(Fault {
            error_code,
            error_message: error_message.into(),
        });
        match request {
            Some(request) => Packet::reply(id, request, message),
            None => Packet::new(id, message),
        }
    }

    /// Serves one request. Always answers exactly once; failures are `Fault` replies.
    pub fn handle(&mut self, packet: Packet<ToWorker>, env: &dyn WorkerEnv) -> Packet<FromWorker> {
        let request = packet.envelope.id;
        let id = self.next_id();
        match packet.envelope.message {
            ToWorker::Init(init) => {
                if let Some(existing) = self.worker_number.filter(|n| *n != init.worker_number) {
                    return self.fault(
                        Some(request),
                        ErrorCode::WorkerRpcFailed,
                        format!(
                            "worker {existing} was asked to become worker {}; a worker's number \
                             cannot change",
                            init.worker_number
                        ),
                    );
                }
                self.worker_number = Some(init.worker_number);
                let ready = Ready {
                    worker_number: init.worker_number,
                    memory_bytes: env.memory_bytes(),
                };
                Packet::reply(id, request, FromWorker::Ready(ready))
            }
            ToWorker::Ping(_) => {
                let pong = Pong {
                    worker_number: self.worker_number,
                    memory_bytes: env.memory_bytes(),
                    uptime_ms: env.uptime_ms(),
                };
                Packet::reply(id, request, FromWorker::Pong(pong))
            }
            ToWorker::Digest(_) => match packet.frame {
                Some(frame) => {
                    let reply = DigestReply {
                        bytes: frame.len() as u64,
                        fnv1a: fnv1a_hex(&frame),
                    };
                    Packet::reply(id, request, FromWorker::DigestReply(reply)).with_frame(frame)
                }
                None => self.fault(
                    Some(request),
                    ErrorCode::WorkerRpcFailed,
                    "digest request arrived without a frame",
                ),
            },
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::to_worker::{Digest, Init, Ping};

    struct FixedEnv;
    impl WorkerEnv for FixedEnv {
        fn memory_bytes(&self) -> u64 {
            1_114_112
        }
        fn uptime_ms(&self) -> f64 {
            12.5
        }
    }

    #[test]
    fn init_then_ping() {
        let mut h = WorkerHandler::new();
        assert!(matches!(h.hello().envelope.message, FromWorker::Hello(_)));
        let init = Packet::new(
            7,
            ToWorker::Init(Init {
                worker_number: WorkerNumber(1),
            }),
        );
        let reply = h.handle(init, &FixedEnv);
        assert_eq!(reply.envelope.reply_to, Some(7));
        assert_eq!(
            reply.envelope.message,
            FromWorker::Ready(Ready {
                worker_number: WorkerNumber(1),
                memory_bytes: 1_114_112
            })
        );
        let pong = h.handle(Packet::new(8, ToWorker::Ping(Ping {})), &FixedEnv);
        assert_eq!(pong.envelope.reply_to, Some(8));
        match pong.envelope.message {
            FromWorker::Pong(p) => assert_eq!(p.worker_number, Some(WorkerNumber(1))),
            other => panic!("expected pong, got {other:?}"),
        }
        // Ids of a worker's messages are unique.
        assert!(pong.envelope.id > reply.envelope.id);
    }

    #[test]
    fn renumbering_is_a_fault() {
        let mut h = WorkerHandler::new();
        h.handle(
            Packet::new(
                1,
                ToWorker::Init(Init {
                    worker_number: WorkerNumber(0),
                }),
            ),
            &FixedEnv,
        );
        let again = h.handle(
            Packet::new(
                2,
                ToWorker::Init(Init {
                    worker_number: WorkerNumber(0),
                }),
            ),
            &FixedEnv,
        );
        assert!(
            matches!(again.envelope.message, FromWorker::Ready(_)),
            "same number is idempotent"
        );
        let other = h.handle(
            Packet::new(
                3,
                ToWorker::Init(Init {
                    worker_number: WorkerNumber(2),
                }),
            ),
            &FixedEnv,
        );
        match other.envelope.message {
            FromWorker::Fault(f) => {
                assert_eq!(f.error_code, ErrorCode::WorkerRpcFailed);
                assert!(f
                    .error_message
                    .contains("worker 0 was asked to become worker 2"));
            }
            m => panic!("expected fault, got {m:?}"),
        }
        assert_eq!(other.envelope.reply_to, Some(3));
    }

    #[test]
    fn digest_echoes_frame_with_checksum() {
        let mut h = WorkerHandler::new();
        let frame = b"foobar".to_vec();
        let reply = h.handle(
            Packet::new(4, ToWorker::Digest(Digest {})).with_frame(frame.clone()),
            &FixedEnv,
        );
        assert_eq!(reply.frame.as_deref(), Some(&frame[..]));
        assert_eq!(
            reply.envelope.message,
            FromWorker::DigestReply(DigestReply {
                bytes: 6,
                fnv1a: "85944171f73967e8".into()
            })
        );
    }

    #[test]
    fn digest_without_frame_is_a_fault() {
        let mut h = WorkerHandler::new();
        let reply = h.handle(Packet::new(5, ToWorker::Digest(Digest {})), &FixedEnv);
        assert!(matches!(reply.envelope.message, FromWorker::Fault(_)));
        assert_eq!(reply.envelope.reply_to, Some(5));
    }
}
