//! LiveKit at the edge of the core: join-token minting now; the RoomService port, webhook
//! verification and egress join it later. Only this module names `livekit-api` types.

mod token;

pub use token::{JoinToken, JoinTokens};
