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
