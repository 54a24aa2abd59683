//! A line a job writes for people, as data: which sentence (a key of the
//! locale files' `job_log` section) and the values that fill it, so the
//! console shows it in the reader's language. The English text is stored
//! beside it for the REST API, the CLI and lines older than the keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobText {
    pub key: String,
    pub args: BTreeMap<String, String>,
}

impl JobText {
    pub fn new(key: &str) -> Self {
        JobText {
            key: key.to_owned(),
            args: BTreeMap::new(),
        }
    }

    pub fn arg(mut self, name: &str, value: impl ToString) -> Self {
        self.args.insert(name.to_owned(), value.to_string());
        self
    }

    /// A value, or nothing when the line was written without it.
    pub fn get(&self, name: &str) -> &str {
        self.args.get(name).map(String::as_str).unwrap_or_default()
    }

    /// The stored form (the catalog's `message_args` column).
    #[cfg(feature = "ssr")]
    pub fn args_json(&self) -> String {
        serde_json::to_string(&self.args).unwrap_or_else(|_| "{}".into())
    }

    /// Back from the catalog; a row whose values do not parse keeps its
    /// English text only.
    #[cfg(feature = "ssr")]
    pub fn from_stored(key: Option<String>, args: Option<String>) -> Option<Self> {
        let key = key?;
        let args = serde_json::from_str(args.as_deref().unwrap_or("{}")).ok()?;
        Some(JobText { key, args })
    }
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::JobText;

    #[test]
    fn stored_and_read_back_unchanged() {
        let text = JobText::new("run_started")
            .arg("trigger", "manual")
            .arg("attempt", 2);
        let back = JobText::from_stored(Some(text.key.clone()), Some(text.args_json()));
        assert_eq!(back.as_ref(), Some(&text));
        assert_eq!(text.get("attempt"), "2");
        assert_eq!(text.get("missing"), "");
        assert_eq!(JobText::from_stored(None, Some("{}".into())), None);
        assert_eq!(
            JobText::from_stored(Some("x".into()), Some("[".into())),
            None
        );
    }
}
