//! What the registry refuses, and why. The HTTP status and code of each are
//! decided at the edge (`From<RegistryError> for ApiError` in
//! `daemon/error.rs`); the message is the sentence the client reads.

use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum RegistryError {
    #[error("no node has id {0:?}; list the nodes with GET /v0/nodes")]
    NodeNotFound(String),
    #[error(
        "the X-Node-Token header does not hold a valid runtime token; register the node again \
         with POST /v0/nodes"
    )]
    InvalidNodeToken,
    #[error(
        "this runtime token was rotated and its grace period is over; register the node again \
         with POST /v0/nodes"
    )]
    TokenExpired,
    #[error("this runtime token belongs to another node; a node may only report for itself")]
    NodeMismatch,
    #[error("node {0} is already approved; only a pending node can be approved")]
    NotPending(String),
    #[error("node {0} has no runtime token to rotate; it gets one when it registers")]
    NoToken(String),
    #[error("the grace period is too long")]
    GraceTooLong,
    #[error(
        "{pending} nodes already wait for approval, the most this daemon accepts \
         (--max-pending); an administrator must approve or remove pending nodes (llmlbctl nodes \
         list --status pending) before more can register"
    )]
    TooManyPending { pending: usize },
    #[error(
        "this daemon admits registrations only with a join token: send it in the X-Join-Token \
         header (llmlb-node --join-token); an administrator creates one with llmlbctl \
         join-tokens create"
    )]
    JoinTokenRequired,
    /// One sentence for unknown, expired, used-up and revoked tokens: a
    /// stranger learns nothing about which tokens exist.
    #[error(
        "the join token is not valid: it is unknown, expired, used up or revoked; ask an \
         administrator for a new one (llmlbctl join-tokens create)"
    )]
    JoinTokenInvalid,
    /// The database disagreed with memory about a join token's uses: a bug.
    #[error("a checked join token had no use left")]
    JoinTokenUsedUp,
    #[error(transparent)]
    Store(#[from] StoreError),
}
