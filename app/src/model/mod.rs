//! Types shared by the browser and the server: what a data source and a
//! backup task are, and the validation of the task form. Validation lives
//! here so the server (which decides) and the browser (which hints) agree.

mod copy_job;
#[cfg(feature = "ssr")]
pub mod cron;
mod drill;
mod extract;
mod job_text;
mod notification;
mod pitr;
mod progress;
mod repo_check;
mod restore;
mod schedule;
mod source;
mod task;
mod user;

pub use copy_job::{CopyJobForm, CopyJobSettings};
pub use drill::{
    format_duration, parse_duration, DrillMode, DrillPoint, Level, RecoverySettings,
    RecoveryStatus, SqlAssertion,
};
pub use extract::{ExtractForm, ExtractResult, ExtractSettings};
pub use job_text::JobText;
pub use notification::{
    ChannelForm, ChannelSettings, ChannelSpec, EventKind, NotifyRule, SmtpSecurity,
    MAX_CHANNEL_NAME, MIN_WEBHOOK_SECRET,
};
pub use pitr::{ClusterRecovery, PitrPreview, PitrResult};
pub use progress::{human_bytes, human_duration, when, JobPhase, JobProgress};
pub use repo_check::{CheckForm, CheckKind, CheckOutcome, CheckPlan};
pub use restore::{
    parse_recovery_time, ObjectChoice, PhaseTimes, RestoreForm, RestoreProgress, RestoreSettings,
    RestoreState, RestoreTarget, DATA_POLICIES, EXTRACT_PHASE, LOG_PHASES, MAX_RESTORE_NAME,
    MAX_TIMEOUT_MIN, PHASES, STRUCTURE_POLICIES, WAL_PHASE,
};
pub use source::{percent_encode, SourceForm, SourceKind};
pub use task::{
    escape_regex, Content, FieldError, Limits, Period, PeriodUnit, Policy, RunState, Schedule,
    ScheduleFields, TaskForm, TaskSettings, COMPRESSION_LEVELS, MAX_TASK_NAME,
};
pub use user::{next_theme, password_problem, Me, Role, MIN_PASSWORD, THEMES};
