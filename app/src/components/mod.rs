//! Reusable widgets of the console.

mod alert;
mod empty_state;
mod layout;

pub use alert::ErrorAlert;
pub use empty_state::EmptyState;
pub use layout::ConsoleLayout;
