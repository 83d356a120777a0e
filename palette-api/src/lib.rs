//! The Palette API as this project uses it: a client with safe retries and
//! typed errors, IP pool arithmetic shared by provider and lab, and (as
//! they land) serde models named after the spec's definitions.

pub mod client;
pub mod pool;
