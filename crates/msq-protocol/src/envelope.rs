//! Correlation and framing shared by both directions.

use serde::{Deserialize, Serialize};

/// Identifies a message. The sender picks ids (the pool counts up from 1); replies name the
/// request they answer in [`Envelope::reply_to`].
pub type MessageId = u64;

/// A message with its correlation ids. This is the JSON (control) half of a [`Packet`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope<M> {
    /// This message's id, unique per sender.
    pub id: MessageId,
    /// The request this message answers; `None` for requests and unsolicited messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<MessageId>,
    /// The message itself.
    pub message: M,
}

/// What actually crosses the worker boundary: an envelope and, for messages that carry rows
/// or other bulk bytes, a binary frame that travels in the transfer list.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet<M> {
    /// The control part, encoded as a structured-clone object by the glue.
    pub envelope: Envelope<M>,
    /// Bulk bytes moved (not copied) alongside the envelope.
    pub frame: Option<Vec<u8>>,
}

impl<M> Packet<M> {
    /// A packet without a frame.
    pub fn new(id: MessageId, message: M) -> Self {
        Self {
            envelope: Envelope {
                id,
                reply_to: None,
                message,
            },
            frame: None,
        }
    }

    /// A reply to `request`, without a frame.
    pub fn reply(id: MessageId, request: MessageId, message: M) -> Self {
        Self {
            envelope: Envelope {
                id,
                reply_to: Some(request),
                message,
            },
            frame: None,
        }
    }

    /// Attaches a frame.
    pub fn with_frame(mut self, frame: Vec<u8>) -> Self {
        self.frame = Some(frame);
        self
    }
}
