//! The intent hook: lets a caller make durable, *before* a request that is
//! not safe to replay is first sent, that it may be sent.
//!
//! After a crash, a request with an intent but no outcome may or may not have
//! reached the server; the caller can then refuse to send it twice. The hook
//! runs once per request, just before its first attempt (slots already
//! held), and only for requests that are not idempotent and carry no
//! `Idempotency-Key`. Requests that never start never call it, so nothing
//! that was merely queued is mistaken for something that was sent.

use std::future::Future;
use std::pin::Pin;

use crate::spec::RequestSpec;

/// The future an [`IntentHook`] returns: `true` to send, `false` to not send.
pub type IntentFuture<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// Called before the first attempt of a request that is not safe to replay.
pub trait IntentHook: Send + Sync + std::fmt::Debug {
    /// Records that `spec` may now be sent, and resolves once that record is
    /// durable. Resolving to `false` means it could not be recorded: the
    /// request is then not sent (under [`Client::stream_until`] it ends with
    /// no outcome, left for a later run; [`Client::fetch`] reports it as an
    /// `invalid_request` that was never sent).
    ///
    /// [`Client::stream_until`]: crate::Client::stream_until
    /// [`Client::fetch`]: crate::Client::fetch
    fn record<'a>(&'a self, spec: &'a RequestSpec) -> IntentFuture<'a>;
}

/// True when replaying `spec` could repeat a side effect, so an intent is due.
pub(crate) fn needs_intent(spec: &RequestSpec) -> bool {
    !spec.is_idempotent() && !spec.has_idempotency_key()
}
