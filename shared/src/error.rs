//! The application's error: every failure a request can meet, by HTTP meaning. The HTTP
//! boundary turns it into a status and `{"error": "..."}`; internal detail is logged only.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{message}")]
    TooManyRequests {
        message: String,
        retry_after_secs: u64,
    },
    /// A capability this server is not set up for yet (recording without its egress worker):
    /// 503 with what is missing, which names no host, so everyone may read it.
    #[error("{0}")]
    NotSetUp(String),
    /// A dependency is down or throttling; the client may retry. Detail is logged.
    #[error("service temporarily unavailable")]
    Unavailable(String),
    /// A dependency answered with an error. The detail (which host, what to check) goes to
    /// the log and to platform admins; everyone else gets the generic message.
    #[error("a service this request needs failed; try again later")]
    BadGateway(String),
    /// A dependency cannot be reached or is not configured; detail as for `BadGateway`.
    #[error("a service this request needs is unavailable; try again later")]
    UpstreamDown(String),
    /// A bug or unexpected state. The cause, with its whole chain of sources, is logged;
    /// it is never sent.
    #[error("internal server error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::BadRequest(m.into())
    }
    pub fn unauthorized(m: impl Into<String>) -> Self {
        Self::Unauthorized(m.into())
    }
    pub fn forbidden(m: impl Into<String>) -> Self {
        Self::Forbidden(m.into())
    }
    pub fn conflict(m: impl Into<String>) -> Self {
        Self::Conflict(m.into())
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::NotFound(m.into())
    }
    /// An unexpected failure, keeping its cause (and the cause's own sources) for the log.
    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Internal(cause.into())
    }
}

impl Error {
    /// The request's fault (a 4xx), not the system's: bulk actions skip such items and go on.
    pub fn is_refusal(&self) -> bool {
        !matches!(
            self,
            Error::Unavailable(_)
                | Error::NotSetUp(_)
                | Error::BadGateway(_)
                | Error::UpstreamDown(_)
                | Error::Internal(_)
                | Error::TooManyRequests { .. }
                | Error::RequestTimeout(_)
        )
    }

    /// What operators need to fix a dependency failure: shown to admins and logged, never
    /// sent to anyone else (it names internal hosts).
    pub fn upstream_detail(&self) -> Option<&str> {
        match self {
            Error::BadGateway(d) | Error::UpstreamDown(d) => Some(d),
            _ => None,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error and every source under it, `outer: inner: innermost`: what the log shows.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(": ");
        out.push_str(&s.to_string());
        next = s.source();
    }
    out
}

/// What an adapter (store, queue, blob store) can fail with, independent of the backend.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or condition check failed (e.g. the email is taken).
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// Temporary: busy, throttled, unreachable. Safe to retry.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    #[error("store failure: {0}")]
    Other(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(what) => Error::conflict(what),
            StoreError::Unavailable(m) => Error::Unavailable(m),
            StoreError::Other(m) => Error::internal(m),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading the egress file")]
    struct Reading(#[source] std::io::Error);

    #[test]
    fn internal_keeps_its_chain_for_the_log() {
        let cause = Reading(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "no such file",
        ));
        let e = Error::internal(cause);
        assert_eq!(e.to_string(), "internal server error");
        assert_eq!(
            chain(&e),
            "internal server error: reading the egress file: no such file"
        );
    }
}
