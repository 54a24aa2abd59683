//! The names of the model's enums (roles, job phases, source kinds) in the
//! console's language; the values sent and stored stay the model's own.

use crate::i18n::*;
use crate::model::{EventKind, JobPhase, Role, SourceKind};

/// A role's name in the console's language.
pub fn role_name(i18n: crate::I18n, role: Role) -> impl Fn() -> &'static str + Copy {
    move || match role {
        Role::Admin => t_string!(i18n, roles.admin),
        Role::Operator => t_string!(i18n, roles.operator),
        Role::Viewer => t_string!(i18n, roles.viewer),
    }
}

/// A job phase's name in the console's language.
pub fn phase_name(i18n: crate::I18n, phase: JobPhase) -> &'static str {
    match phase {
        JobPhase::Running => t_string!(i18n, phase.running),
        JobPhase::Succeeded => t_string!(i18n, phase.succeeded),
        JobPhase::Failed => t_string!(i18n, phase.failed),
        JobPhase::Cancelled => t_string!(i18n, phase.cancelled),
    }
}

/// A source kind's name in the console's language.
pub fn kind_name(i18n: crate::I18n, kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::FileTree => t_string!(i18n, kinds.file_tree),
        SourceKind::Sqlite => t_string!(i18n, kinds.sqlite),
        SourceKind::Postgres => t_string!(i18n, kinds.postgres),
        SourceKind::MySql => t_string!(i18n, kinds.mysql),
        SourceKind::Influx => t_string!(i18n, kinds.influx),
        SourceKind::PgCluster => t_string!(i18n, kinds.pg_cluster),
    }
}

/// What the location field holds for a source kind.
pub fn location_hint(i18n: crate::I18n, kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::FileTree => t_string!(i18n, kinds.hint_file_tree),
        SourceKind::Sqlite => t_string!(i18n, kinds.hint_sqlite),
        SourceKind::Postgres => t_string!(i18n, kinds.hint_postgres),
        SourceKind::MySql => t_string!(i18n, kinds.hint_mysql),
        SourceKind::Influx => t_string!(i18n, kinds.hint_influx),
        SourceKind::PgCluster => t_string!(i18n, kinds.hint_pg_cluster),
    }
}

/// A notification event's name in the console's language.
pub fn event_name(i18n: crate::I18n, event: EventKind) -> &'static str {
    match event {
        EventKind::BackupFailed => t_string!(i18n, events.backup_failed),
        EventKind::BackupSucceeded => t_string!(i18n, events.backup_succeeded),
        EventKind::BackupLate => t_string!(i18n, events.backup_late),
        EventKind::BackupSkipped => t_string!(i18n, events.backup_skipped),
        EventKind::RestoreFinished => t_string!(i18n, events.restore_finished),
        EventKind::RestoreFailed => t_string!(i18n, events.restore_failed),
        EventKind::DrillFailed => t_string!(i18n, events.drill_failed),
        EventKind::VerifyDamage => t_string!(i18n, events.verify_damage),
        EventKind::CopyFailed => t_string!(i18n, events.copy_failed),
        EventKind::RpoExceeded => t_string!(i18n, events.rpo_exceeded),
        EventKind::Test => t_string!(i18n, events.test),
    }
}
