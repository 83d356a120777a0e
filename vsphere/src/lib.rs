//! vCenter client for the provider and palette-lab: SOAP through vim_rs, and
//! tagging through the vAPI REST endpoints ([`tags`]).
//!
//! Errors are typed by cause so callers can act on them: a wrong password is
//! [`Error::InvalidLogin`], a missing inventory object is [`Error::NotFound`]
//! (the only error that may make a caller forget an object), and everything
//! else says which server failed and how. Passwords are never part of an
//! error or a log line.

pub mod error;
pub mod ovf;
pub mod owner;
pub mod prereq;
pub mod session;
pub mod tags;
#[cfg(any(test, feature = "vcsim"))]
pub mod vcsim;
pub mod vm;

pub use error::Error;
pub use session::{normalize_server, About, Session, Target};
pub use tags::{Category, CategorySpec, ObjectRef, Tag, TagSpec, Tagging};
