//! The engine's commands. Each follows Options → Plan → Stats: the plan is
//! what the user can inspect (a dry run shows it), and running executes
//! exactly that plan.

pub mod archive;
pub mod backup;
pub mod compare;
pub mod copy;
pub mod diff;
pub mod drill;
pub(crate) mod precheck;
pub mod prune;
pub mod restore;
pub mod timeline;
pub mod verify;
