//! A job's log line in the console's language: the sentence its key names,
//! filled with its values. A line without a key (older rows, the engine's
//! own warnings and errors) is shown as it was written.

use crate::i18n::*;
use crate::model::JobText;
use crate::pages::tasks::labels::{mode_name, state_name, trigger_name};
use crate::I18n;
use leptos::prelude::*;

pub fn log_text(i18n: I18n, text: Option<&JobText>, message: &str) -> String {
    let Some(t) = text else {
        return message.to_owned();
    };
    let a = |name: &str| t.get(name).to_owned();
    match t.key.as_str() {
        "run_started" => t_string!(
            i18n,
            job_log.run_started,
            trigger = trigger_name(i18n, t.get("trigger")),
            attempt = a("attempt")
        )
        .to_string(),
        "run_started_late" => t_string!(
            i18n,
            job_log.run_started_late,
            trigger = trigger_name(i18n, t.get("trigger")),
            attempt = a("attempt")
        )
        .to_string(),
        "waiting_for_repository" => t_string!(i18n, job_log.waiting_for_repository).to_string(),
        "run_finished" => t_string!(
            i18n,
            job_log.run_finished,
            state = state_name(i18n, t.get("state"))
        )
        .to_string(),
        "retry_scheduled" => t_string!(
            i18n,
            job_log.retry_scheduled,
            next = a("next"),
            total = a("total"),
            at = a("at")
        )
        .to_string(),
        "backup_planned" | "backup_planned_parent" => {
            let line = t_string!(
                i18n,
                job_log.backup_planned,
                mode = mode_name(i18n, t.get("mode")),
                source = a("source"),
                objects = a("objects"),
                bytes = a("bytes"),
                path = a("path")
            )
            .to_string();
            match t.key.as_str() {
                "backup_planned_parent" => {
                    line + &t_string!(i18n, job_log.parent_point, parent = a("parent")).to_string()
                }
                _ => line,
            }
        }
        "point_published" => t_string!(
            i18n,
            job_log.point_published,
            point = a("point"),
            objects = a("objects"),
            bytes = a("bytes"),
            read = a("read"),
            new_chunks = a("new_chunks"),
            chunks = a("chunks"),
            stored = a("stored"),
            seconds = a("seconds")
        )
        .to_string(),
        "retention_applied" => t_string!(
            i18n,
            job_log.retention_applied,
            keep = a("keep"),
            removed = a("removed"),
            points = a("points"),
            packs = a("packs"),
            freed = a("freed")
        )
        .to_string(),
        "retention_failed" => t_string!(
            i18n,
            job_log.retention_failed,
            keep = a("keep"),
            error = a("error")
        )
        .to_string(),
        _ => message.to_owned(),
    }
}

/// The heading of a failed job's message: what kind of failure it was, in
/// the reader's language. None for a kind this console does not know.
pub fn error_headline(i18n: I18n, kind: &str) -> Option<String> {
    let text = match kind {
        "file_system" => t_string!(i18n, job_errors.file_system),
        "invalid_input" => t_string!(i18n, job_errors.invalid_input),
        "storage" => t_string!(i18n, job_errors.storage),
        "repository_not_found" => t_string!(i18n, job_errors.repository_not_found),
        "repository_exists" => t_string!(i18n, job_errors.repository_exists),
        "passphrase_required" => t_string!(i18n, job_errors.passphrase_required),
        "wrong_passphrase" => t_string!(i18n, job_errors.wrong_passphrase),
        "corrupt" => t_string!(i18n, job_errors.corrupt),
        "repository_not_writable" => t_string!(i18n, job_errors.repository_not_writable),
        "locked" => t_string!(i18n, job_errors.locked),
        "point_not_found" => t_string!(i18n, job_errors.point_not_found),
        "database" => t_string!(i18n, job_errors.database),
        "refused" => t_string!(i18n, job_errors.refused),
        "restore_failed" => t_string!(i18n, job_errors.restore_failed),
        "differs" => t_string!(i18n, job_errors.differs),
        "timed_out" => t_string!(i18n, job_errors.timed_out),
        _ => return None,
    };
    Some(text.to_string())
}

/// A failed job's message under its translated heading; the message itself
/// names the object and stays as the server wrote it.
#[component]
pub fn JobError(kind: Option<String>, message: String) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        {move || kind.as_deref().and_then(|k| error_headline(i18n, k)).map(|h| view! { <strong data-testid="error-kind">{h}</strong> " " })}
        <span translate="no">{message}</span>
    }
}
