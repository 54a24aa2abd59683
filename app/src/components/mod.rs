//! Widgets shared by the pages.

mod alert;
mod copy_button;
mod empty_state;
mod field;
mod job_feed;
pub mod job_log;
mod job_progress;
mod labels;
mod layout;
mod live_events;
mod point_locations;
mod recovery;
mod restore_feed;
mod restore_progress;
pub mod restore_words;

pub use alert::ErrorAlert;
pub use copy_button::CopyButton;
pub use empty_state::EmptyState;
pub use field::{CheckList, FieldError, Notice};
pub use job_feed::JobFeed;
pub use job_progress::JobProgressBar;
pub use labels::{event_name, kind_name, location_hint, phase_name, role_name};
pub use layout::{hydrated_flag, ConsoleLayout, MeContext};
pub use point_locations::LocationBadges;
pub use recovery::{server_clock, RpoBadge, RtoBadge};
pub use restore_feed::RestoreFeed;
pub use restore_progress::{EndedRestoreBar, RestoreProgressView};
