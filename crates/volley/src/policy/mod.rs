//! The policies that shape a run, one concern per file, each configured on
//! the [`ClientBuilder`](crate::ClientBuilder) and composed by the engine
//! rather than multiplied into one code path per combination.

pub mod backoff;
pub mod retry;
pub mod retry_after;
pub mod status;
