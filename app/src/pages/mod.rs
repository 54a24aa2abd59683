//! One module per area of the console.

pub mod account;
pub mod copies;
pub mod dashboard;
pub mod not_found;
pub mod notifications;
pub mod repositories;
pub mod restores;
pub mod sources;
pub mod tasks;
