//! Accounts and sessions: password hashing, typed API tokens, and the flows behind the auth
//! routes. HTTP shapes live in `http::auth`; this module speaks domain types only.

mod external;
mod jwt_hmac;
mod password;
mod service;
mod tokens;

pub use password::PasswordHasher;
pub use service::{Auth, IssuedTokens, SignIn, VERIFY_FIRST};
pub use tokens::{AccessClaims, GUEST_MARKER_TTL, TokenKeys};
