//! Extraction from a recovered PostgreSQL cluster: a database, or chosen
//! tables of it (optionally renamed), restored into a registered
//! PostgreSQL data source with the logical restore.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// The longest PostgreSQL identifier (a database or table name part).
const MAX_IDENTIFIER: usize = 63;

/// The restore form's extraction fields, as edited.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtractForm {
    /// The PostgreSQL data source to restore into (empty: no extraction).
    pub source_id: String,
    /// The database of the recovered cluster.
    pub database: String,
    /// One table per line, `schema.table` or `schema.table=schema.new`
    /// (empty: every table).
    pub tables: String,
    /// Remove the recovered data directory afterwards.
    pub remove_cluster: bool,
}

/// A validated extraction, stored with the restore's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtractSettings {
    pub source_id: i64,
    pub database: String,
    /// `(table, restored as)`; empty: every table of the database.
    pub tables: Vec<(String, String)>,
    pub remove_cluster: bool,
}

impl ExtractForm {
    /// None when no data source is chosen and nothing else is filled in.
    pub fn parse(&self, errors: &mut Vec<FieldError>) -> Option<ExtractSettings> {
        let source = self.source_id.trim();
        let database = self.database.trim();
        if source.is_empty() {
            if !database.is_empty() || !self.tables.trim().is_empty() || self.remove_cluster {
                errors.push(FieldError::new(
                    "extract_source_id",
                    crate::tr!(validation.choose_the_postgresql_data_source_to),
                ));
            }
            return None;
        }
        let source_id = match source.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => {
                errors.push(FieldError::new(
                    "extract_source_id",
                    crate::tr!(validation.choose_a_data_source),
                ));
                None
            }
        };
        if database.is_empty() {
            errors.push(FieldError::new(
                "extract_database",
                crate::tr!(validation.name_the_database_of_the_recovered),
            ));
        } else if database.len() > MAX_IDENTIFIER || database.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "extract_database",
                crate::tr!(validation.database_name_bytes, max = MAX_IDENTIFIER),
            ));
        }
        let mut tables = Vec::new();
        let mut names = std::collections::HashSet::new();
        for line in self.tables.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (name, to) = match line.split_once('=') {
                Some((name, to)) => (name.trim(), to.trim()),
                None => (line, line),
            };
            let qualified = |n: &str| {
                n.split_once('.')
                    .is_some_and(|(s, t)| !s.is_empty() && !t.is_empty())
                    && !n.chars().any(char::is_control)
            };
            if !qualified(name) || !qualified(to) {
                errors.push(FieldError::new(
                    "extract_tables",
                    crate::tr!(validation.schema_table, line = format!("{line:?}")),
                ));
            } else if !names.insert(to.to_owned()) {
                errors.push(FieldError::new(
                    "extract_tables",
                    crate::tr!(validation.two_tables_as, to),
                ));
            } else {
                tables.push((name.to_owned(), to.to_owned()));
            }
        }
        Some(ExtractSettings {
            source_id: source_id?,
            database: database.to_owned(),
            tables,
            remove_cluster: self.remove_cluster,
        })
    }
}

impl ExtractSettings {
    pub fn to_form(&self) -> ExtractForm {
        ExtractForm {
            source_id: self.source_id.to_string(),
            database: self.database.clone(),
            tables: self
                .tables
                .iter()
                .map(|(name, to)| match name == to {
                    true => name.clone(),
                    false => format!("{name}={to}"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
            remove_cluster: self.remove_cluster,
        }
    }
}

/// What an extraction did, recorded with the recovery's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExtractResult {
    pub database: String,
    /// The target database (without credentials).
    pub target: String,
    /// Each restored object: name, restored as, how it was read back.
    pub checks: Vec<(String, String, String)>,
    pub rows: u64,
    pub notes: Vec<String>,
    pub seconds: f64,
    pub removed_cluster: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(form: ExtractForm) -> (Option<ExtractSettings>, Vec<FieldError>) {
        let mut errors = Vec::new();
        (form.parse(&mut errors), errors)
    }

    #[test]
    fn tables_are_qualified_and_renames_distinct() {
        let (settings, errors) = parse(ExtractForm {
            source_id: "4".into(),
            database: " shop ".into(),
            tables: "public.order items = public.order items at T\n\n  public.steps\n".into(),
            remove_cluster: true,
        });
        assert!(errors.is_empty(), "{errors:?}");
        let settings = settings.unwrap();
        assert_eq!(settings.database, "shop");
        assert_eq!(
            settings.tables,
            [
                (
                    "public.order items".into(),
                    "public.order items at T".into()
                ),
                ("public.steps".into(), "public.steps".into())
            ]
        );
        assert_eq!(parse(settings.to_form()).0, Some(settings));

        let (_, errors) = parse(ExtractForm {
            source_id: "4".into(),
            database: String::new(),
            tables: "orders\npublic.a=public.b\npublic.b".into(),
            remove_cluster: false,
        });
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            ["extract_database", "extract_tables", "extract_tables"]
        );
        // Fields without a data source name what is missing.
        let (none, errors) = parse(ExtractForm {
            database: "shop".into(),
            ..ExtractForm::default()
        });
        assert!(none.is_none());
        assert_eq!(errors[0].field, "extract_source_id");
        assert_eq!(parse(ExtractForm::default()), (None, Vec::new()));
    }
}
