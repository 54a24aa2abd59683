//! The engine's commands. Each follows Options → Plan → Stats: the plan is
//! what the user can inspect (a dry run shows it), and running executes
//! exactly that plan.

pub mod backup;
pub mod compare;
pub mod drill;
mod precheck;
pub mod prune;
pub mod restore;
pub mod verify;
