//! The console-language words for the restore values the server sends as
//! English text (phases, object states, planned actions, object kinds); a
//! value it does not know is shown as sent.

use crate::i18n::*;
use crate::I18n;

/// A restore phase or state ("loading", "finished", …), or `None` for one
/// the console has no word for (the engine's own step titles).
pub(crate) fn restore_word(i18n: I18n, word: &str) -> Option<&'static str> {
    Some(match word {
        "new" => t_string!(i18n, tasks.state_new),
        "pending" => t_string!(i18n, tasks.state_pending),
        "running" => t_string!(i18n, phase.running),
        "finished" => t_string!(i18n, restore_words.finished),
        "failed" => t_string!(i18n, phase.failed),
        "cancelled" => t_string!(i18n, phase.cancelled),
        "preparing" => t_string!(i18n, restore_words.preparing),
        "downloading" => t_string!(i18n, restore_words.downloading),
        "loading" => t_string!(i18n, restore_words.loading),
        "committing" => t_string!(i18n, restore_words.committing),
        "verifying" => t_string!(i18n, restore_words.verifying),
        "fetching binary logs" => t_string!(i18n, restore_words.fetching_binlogs),
        "replaying binary logs" => t_string!(i18n, restore_words.replaying_binlogs),
        "replaying WAL" => t_string!(i18n, restore_words.replaying_wal),
        "extracting" => t_string!(i18n, restore_words.extracting),
        "done" => t_string!(i18n, restore_words.done),
        "waiting" => t_string!(i18n, restore_words.waiting),
        "unknown" => t_string!(i18n, restore_words.unknown),
        "not started" => t_string!(i18n, restore_words.not_started),
        "create" => t_string!(i18n, restore_words.create),
        "overwrite" => t_string!(i18n, restore_words.overwrite),
        "load into existing" => t_string!(i18n, restore_words.merge),
        "skip" => t_string!(i18n, restore_words.skip),
        "file" => t_string!(i18n, restore_words.kind_file),
        "dir" => t_string!(i18n, restore_words.kind_dir),
        "symlink" => t_string!(i18n, restore_words.kind_symlink),
        "table" => t_string!(i18n, restore_words.kind_table),
        "schema" => t_string!(i18n, restore_words.kind_schema),
        _ => return None,
    })
}

/// A restore word in the console's language, or the value as sent.
pub(crate) fn restore_text(i18n: I18n, word: &str) -> String {
    restore_word(i18n, word).map_or_else(|| word.to_owned(), str::to_owned)
}

/// `translate` for an element showing [`restore_text`]: text the console
/// has no word for is the server's own.
pub(crate) fn translate_attr(i18n: I18n, word: &str) -> &'static str {
    if restore_word(i18n, word).is_some() {
        "yes"
    } else {
        "no"
    }
}

/// A restore policy value: when a table or row exists (`stop`, `ignore`,
/// `skip`, `rewrite`) and the check after loading (`content`, `counts`,
/// `off`).
pub(crate) fn policy_word(i18n: I18n, word: &str) -> String {
    match word {
        "stop" => t_string!(i18n, restore_words.stop),
        "ignore" => t_string!(i18n, restore_words.ignore),
        "skip" => t_string!(i18n, restore_words.skip),
        "rewrite" => t_string!(i18n, restore_words.rewrite),
        "content" => t_string!(i18n, restore_words.content),
        "counts" => t_string!(i18n, restore_words.counts),
        "off" => t_string!(i18n, restore_detail.off),
        other => return other.to_owned(),
    }
    .to_owned()
}

/// A pre-check item's name (the engine's and the console's own), or
/// `None` for one the console has no word for (a server setting's name).
pub fn check_name(i18n: I18n, name: &str) -> Option<&'static str> {
    Some(match name {
        "MariaDB server" => t_string!(i18n, check_names.mariadb_server),
        "binary log settings" => t_string!(i18n, check_names.binary_log_settings),
        "binary logging" => t_string!(i18n, check_names.binary_logging),
        "checks" => t_string!(i18n, check_names.checks),
        "connection" => t_string!(i18n, check_names.connection),
        "continuous archiving" => t_string!(i18n, check_names.continuous_archiving),
        "existing objects" => t_string!(i18n, check_names.existing_objects),
        "free space" => t_string!(i18n, check_names.free_space),
        "full row images" => t_string!(i18n, check_names.full_row_images),
        "lock target" => t_string!(i18n, check_names.lock_target),
        "log replay" => t_string!(i18n, check_names.log_replay),
        "log retention" => t_string!(i18n, check_names.log_retention),
        "privileges" => t_string!(i18n, check_names.privileges),
        "replication connection" => t_string!(i18n, check_names.replication_connection),
        "row format" => t_string!(i18n, check_names.row_format),
        "same kind" => t_string!(i18n, check_names.same_kind),
        "sandbox" => t_string!(i18n, check_names.sandbox),
        "server id" => t_string!(i18n, check_names.server_id),
        "server version" => t_string!(i18n, check_names.server_version),
        "source reachable" => t_string!(i18n, check_names.source_reachable),
        "target reachable" => t_string!(i18n, check_names.target_reachable),
        "target writable" => t_string!(i18n, check_names.target_writable),
        "time range" => t_string!(i18n, check_names.time_range),
        "tools" => t_string!(i18n, check_names.tools),
        "tablespaces" => t_string!(i18n, check_names.tablespaces),
        "original data source" => t_string!(i18n, check_names.original_data_source),
        "restore path" => t_string!(i18n, check_names.restore_path),
        "restore plan" => t_string!(i18n, check_names.restore_plan),
        "Content exists and is not empty" => t_string!(i18n, check_names.content_exists),
        "Continuous archiving" => t_string!(i18n, check_names.continuous_archiving_task),
        "Repository is reachable and writable" => t_string!(i18n, check_names.repository_writable),
        "Data source is reachable" => t_string!(i18n, check_names.source_reachable_task),
        "Name is free" => t_string!(i18n, check_names.name_free),
        "Settings are complete" => t_string!(i18n, check_names.settings_complete),
        _ => return None,
    })
}
