//! The one error type of the planners. Every variant says what was wrong in words an operator can act on.

/// What can go wrong while planning. [`Error::Invalid`] is bad input (kbinit exits 3); the rest are failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value, flag or document is invalid. `field` is the config path (e.g.
    /// `networking.podSubnet`) or flag name, `value` what was given.
    #[error("invalid value {value:?} for {field}: {reason}")]
    Invalid {
        /// The field or flag.
        field: String,
        /// The value that was given.
        value: String,
        /// Why it was refused.
        reason: String,
    },
    /// A configuration document could not be read at all.
    #[error("{0}")]
    Document(String),
    /// Something already on the node is in the way (e.g. a certificate signed by another CA).
    #[error("{0}")]
    Conflict(String),
    /// A certificate or key could not be created, loaded or encoded.
    #[error("{0}")]
    Crypto(String),
    /// A Kubernetes object could not be encoded, or one read from a cluster could not be decoded.
    #[error("{0}")]
    Encode(String),
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, value: impl Into<String>, reason: impl Into<String>) -> Error {
        Error::Invalid { field: field.into(), value: value.into(), reason: reason.into() }
    }

    /// `true` for errors caused by bad input rather than by the node or a failure.
    pub fn is_invalid_input(&self) -> bool {
        matches!(self, Error::Invalid { .. } | Error::Document(_))
    }
}

impl From<rcgen::Error> for Error {
    fn from(e: rcgen::Error) -> Self {
        Error::Crypto(e.to_string())
    }
}
