//! Storage backends: where repositories live.

pub(crate) mod local;
