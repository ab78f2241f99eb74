//! The policies that shape a run, one concern per file, each configured on
//! the [`ClientBuilder`](crate::ClientBuilder) and composed by the engine
//! rather than multiplied into one code path per combination.

pub(crate) mod adaptive;
pub mod backoff;
pub(crate) mod budget;
pub mod rate;
pub mod retry;
pub mod retry_after;
pub mod status;
