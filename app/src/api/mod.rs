//! Server functions: thin adapters from the browser to the catalog and engine.
//! Each takes the state from context, calls one domain method, maps to a DTO.

pub mod auth;
pub mod browse;
pub mod copy_jobs;
#[cfg(feature = "ssr")]
pub mod download;
pub mod drills;
pub mod notifications;
pub mod overview;
pub mod point_diff;
pub mod repo_checks;
pub mod repositories;
pub mod restores;
pub mod runs;
pub mod sources;
pub mod tasks;
pub mod timeline;
pub mod users;
