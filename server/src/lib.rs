//! The `tidemark` binary's library: command line, configuration, logging,
//! and the console server. `main.rs` only dispatches.

mod api_status;
mod assets;
pub mod cli;
pub mod commands;
pub mod config;
mod health;
mod router;
mod serve;
mod shutdown;
pub mod telemetry;

pub use serve::{serve, ServeError};
