//! Data sources: what the console backs up.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// The kinds of data source the engine can read today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    FileTree,
    Sqlite,
}

impl SourceKind {
    pub const ALL: [SourceKind; 2] = [SourceKind::FileTree, SourceKind::Sqlite];

    /// The catalog's and the form's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::FileTree => "file-tree",
            SourceKind::Sqlite => "sqlite",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SourceKind::FileTree => "File tree",
            SourceKind::Sqlite => "SQLite database",
        }
    }

    /// What the location field holds for this kind.
    pub fn location_hint(self) -> &'static str {
        match self {
            SourceKind::FileTree => "absolute directory, e.g. /var/lib/iotdb/data",
            SourceKind::Sqlite => "absolute database file, e.g. /var/lib/app/metrics.db",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// The engine URL of a location of this kind.
    pub fn url_of(self, location: &str) -> String {
        match self {
            SourceKind::FileTree => format!("file://{location}"),
            SourceKind::Sqlite => format!("sqlite://{location}"),
        }
    }
}

/// The data source form as submitted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub location: String,
    #[serde(default)]
    pub description: String,
}

impl SourceForm {
    /// Checks the form; returns the cleaned values or every field's error.
    pub fn validate(&self) -> Result<(String, SourceKind, String, String), Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 64 {
            errors.push(FieldError::new("name", "give a name of 1 to 64 characters"));
        }
        let kind = SourceKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::new("kind", "choose a kind"));
        }
        let location = self.location.trim().trim_end_matches('/').to_owned();
        if !location.starts_with('/') {
            errors.push(FieldError::new(
                "location",
                "give an absolute path on the server (starting with /)",
            ));
        }
        match kind {
            Some(kind) if errors.is_empty() => {
                Ok((name, kind, location, self.description.trim().to_owned()))
            }
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_form_names_every_bad_field() {
        let errors = SourceForm::default().validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "kind", "location"]);
        let ok = SourceForm {
            name: " tree ".into(),
            kind: "file-tree".into(),
            location: "/srv/data/".into(),
            description: String::new(),
        }
        .validate()
        .unwrap();
        assert_eq!(ok.0, "tree");
        assert_eq!(ok.2, "/srv/data");
        assert_eq!(SourceKind::FileTree.url_of(&ok.2), "file:///srv/data");
    }
}
