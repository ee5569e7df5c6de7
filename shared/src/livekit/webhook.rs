//! LiveKit webhooks in: verified over the exact body bytes before anything is parsed (raw JWT
//! in `Authorization`, HS256, issuer = our API key, 1-minute leeway, `sha256` claim =
//! base64(SHA-256(body))) by `livekit-api`'s receiver, then read as proto-JSON with
//! `livekit-protocol` types and turned into our own event type.

use livekit_api::access_token::TokenVerifier;
use livekit_api::webhooks::{WebhookError, WebhookReceiver};

use super::port::Egress;
use super::twirp::egress;

/// A webhook event, as much of it as the product uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEvent {
    /// LiveKit's event id; redeliveries repeat it.
    pub id: String,
    /// Unix seconds when LiveKit created the event (0 if it did not say).
    pub created_at: i64,
    pub kind: LiveEventKind,
}

/// The participant a participant event is about: one connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connection {
    pub identity: String,
    /// LiveKit's participant sid: one per connection.
    pub session: String,
    pub name: String,
    /// When LiveKit let them in (seconds; 0 when not reported).
    pub joined_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEventKind {
    RoomStarted {
        room: String,
        sid: String,
    },
    RoomFinished {
        room: String,
        sid: String,
    },
    ParticipantJoined {
        room: String,
        who: Connection,
    },
    /// `participant_left` and `participant_connection_aborted`.
    ParticipantLeft {
        room: String,
        who: Connection,
    },
    /// `egress_started`, `egress_updated`, `egress_ended`.
    Egress {
        event: String,
        info: Egress,
    },
    /// Anything else (track events, ingress, new event names): acknowledged, not applied.
    Other(String),
}

impl LiveEventKind {
    /// The event's name as LiveKit sends it (`other` for the ones not applied, so a metric's
    /// labels stay few).
    pub fn name(&self) -> &str {
        match self {
            LiveEventKind::RoomStarted { .. } => "room_started",
            LiveEventKind::RoomFinished { .. } => "room_finished",
            LiveEventKind::ParticipantJoined { .. } => "participant_joined",
            LiveEventKind::ParticipantLeft { .. } => "participant_left",
            LiveEventKind::Egress { event, .. } => event,
            LiveEventKind::Other(_) => "other",
        }
    }
}

/// Why a delivery was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookRefusal {
    /// Missing, forged, tampered, expired or signed with another key: 401.
    Unauthenticated(String),
    /// Signed correctly but not a webhook event: 400.
    Malformed(String),
}

/// Checks deliveries against one key pair.
#[derive(Clone)]
pub struct WebhookVerifier {
    receiver: WebhookReceiver,
}

impl std::fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerifier").finish_non_exhaustive()
    }
}

impl WebhookVerifier {
    pub fn new(api_key: &str, api_secret: &str) -> Self {
        Self {
            receiver: WebhookReceiver::new(TokenVerifier::with_api_key(api_key, api_secret)),
        }
    }

    /// `authorization` is the header as sent: the raw JWT (LiveKit's way) or `Bearer <jwt>`.
    pub fn verify(
        &self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<LiveEvent, WebhookRefusal> {
        let token = authorization
            .map(|h| h.trim())
            .map(|h| h.strip_prefix("Bearer ").unwrap_or(h).trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WebhookRefusal::Unauthenticated("missing Authorization".into()))?;
        let body = std::str::from_utf8(body);
        // A body that is not text cannot match a signature made over text; verify first anyway
        // so an unsigned request never learns more than "unauthenticated".
        let event = match self.receiver.receive(body.unwrap_or(""), token) {
            Ok(e) if body.is_ok() => e,
            Ok(_) => return Err(WebhookRefusal::Malformed("body is not UTF-8".into())),
            Err(WebhookError::InvalidData(e)) => {
                return Err(WebhookRefusal::Malformed(format!(
                    "not a webhook event: {e}"
                )));
            }
            Err(e) => return Err(WebhookRefusal::Unauthenticated(e.to_string())),
        };
        Ok(event_from(event))
    }
}

fn event_from(e: livekit_protocol::WebhookEvent) -> LiveEvent {
    let room = || e.room.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    let sid = || e.room.as_ref().map(|r| r.sid.clone()).unwrap_or_default();
    let who = || {
        e.participant
            .as_ref()
            .map(|p| Connection {
                identity: p.identity.clone(),
                session: p.sid.clone(),
                name: p.name.clone(),
                joined_at: p.joined_at,
            })
            .unwrap_or_default()
    };
    let kind = match e.event.as_str() {
        "room_started" => LiveEventKind::RoomStarted {
            room: room(),
            sid: sid(),
        },
        "room_finished" => LiveEventKind::RoomFinished {
            room: room(),
            sid: sid(),
        },
        "participant_joined" => LiveEventKind::ParticipantJoined {
            room: room(),
            who: who(),
        },
        "participant_left" | "participant_connection_aborted" => LiveEventKind::ParticipantLeft {
            room: room(),
            who: who(),
        },
        "egress_started" | "egress_updated" | "egress_ended" if e.egress_info.is_some() => {
            LiveEventKind::Egress {
                event: e.event.clone(),
                info: egress(e.egress_info.clone().expect("checked")),
            }
        }
        other => LiveEventKind::Other(other.to_string()),
    };
    LiveEvent {
        id: e.id,
        created_at: e.created_at,
        kind,
    }
}
