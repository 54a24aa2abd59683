//! Data sources: what the console backs up.

use serde::{Deserialize, Serialize};

use super::FieldError;

/// The kinds of data source the engine can read today.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    FileTree,
    Sqlite,
    Postgres,
    MySql,
    Influx,
    /// A whole PostgreSQL cluster, physically (base backups and WAL).
    PgCluster,
}

impl SourceKind {
    pub const ALL: [SourceKind; 6] = [
        SourceKind::FileTree,
        SourceKind::Sqlite,
        SourceKind::Postgres,
        SourceKind::MySql,
        SourceKind::Influx,
        SourceKind::PgCluster,
    ];

    /// The catalog's and the form's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::FileTree => "file-tree",
            SourceKind::Sqlite => "sqlite",
            SourceKind::Postgres => "postgres",
            SourceKind::MySql => "mysql",
            SourceKind::Influx => "influxdb",
            SourceKind::PgCluster => "postgres-cluster",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            SourceKind::FileTree => "File tree",
            SourceKind::Sqlite => "SQLite database",
            SourceKind::Postgres => "PostgreSQL",
            SourceKind::MySql => "MariaDB / MySQL",
            SourceKind::Influx => "InfluxDB 1.x",
            SourceKind::PgCluster => "PostgreSQL cluster (base backups and WAL)",
        }
    }

    /// What the location field holds for this kind.
    pub fn location_hint(self) -> &'static str {
        match self {
            SourceKind::FileTree => "absolute directory, e.g. /var/lib/iotdb/data",
            SourceKind::Sqlite => "absolute database file, e.g. /var/lib/app/metrics.db",
            SourceKind::Postgres => {
                "postgres://USER@HOST:PORT/DATABASE (the password goes in its own field)"
            }
            SourceKind::MySql => {
                "mysql://USER@HOST:PORT/DATABASE (the password goes in its own field)"
            }
            SourceKind::Influx => {
                "influxdb://[USER@]HOST:PORT/DATABASE (the password goes in its own field)"
            }
            SourceKind::PgCluster => {
                "postgres-cluster://USER@HOST:PORT (a role with REPLICATION; the password goes in its own field)"
            }
        }
    }

    /// [`Self::location_hint`] in the language of the request answered.
    pub fn location_hint_text(self) -> String {
        match self {
            SourceKind::FileTree => crate::tr!(kinds.hint_file_tree),
            SourceKind::Sqlite => crate::tr!(kinds.hint_sqlite),
            SourceKind::Postgres => crate::tr!(kinds.hint_postgres),
            SourceKind::MySql => crate::tr!(kinds.hint_mysql),
            SourceKind::Influx => crate::tr!(kinds.hint_influx),
            SourceKind::PgCluster => crate::tr!(kinds.hint_pg_cluster),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether sources of this kind have a password.
    pub fn has_password(self) -> bool {
        matches!(
            self,
            SourceKind::Postgres | SourceKind::MySql | SourceKind::Influx | SourceKind::PgCluster
        )
    }

    /// Whether a location of this kind names a database (a cluster's is
    /// optional: the database the pre-checks connect to).
    fn needs_database(self) -> bool {
        self != SourceKind::PgCluster
    }

    /// The URL scheme of server kinds.
    fn scheme(self) -> Option<&'static str> {
        match self {
            SourceKind::Postgres => Some("postgres"),
            SourceKind::MySql => Some("mysql"),
            SourceKind::Influx => Some("influxdb"),
            SourceKind::PgCluster => Some("postgres-cluster"),
            _ => None,
        }
    }

    /// The engine URL of a location of this kind, with the password when
    /// the kind has one (for connecting only, never for display).
    pub fn url_of(self, location: &str, password: Option<&str>) -> String {
        match self {
            SourceKind::FileTree => format!("file://{location}"),
            SourceKind::Sqlite => format!("sqlite://{location}"),
            SourceKind::Postgres
            | SourceKind::MySql
            | SourceKind::Influx
            | SourceKind::PgCluster => {
                match (password.filter(|p| !p.is_empty()), location.split_once('@')) {
                    (Some(password), Some((user, rest))) => {
                        format!("{user}:{}@{rest}", percent_encode(password))
                    }
                    _ => location.to_owned(),
                }
            }
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
    /// For database servers; empty on edit keeps the stored one.
    #[serde(default)]
    pub password: String,
    /// Present ("on"): kept for restore drills (database servers only).
    #[serde(default)]
    pub drill_server: Option<String>,
}

impl SourceForm {
    /// Whether the source is to be a drill server, if its kind can be one.
    pub fn drill_server(&self) -> Result<bool, FieldError> {
        match (self.drill_server.is_some(), SourceKind::parse(&self.kind)) {
            (false, _) => Ok(false),
            (true, Some(SourceKind::Postgres | SourceKind::MySql | SourceKind::Influx)) => Ok(true),
            (true, _) => Err(FieldError::new(
                "drill_server",
                crate::tr!(validation.only_database_servers_postgresql_mariadb_mysql),
            )),
        }
    }
}

impl SourceForm {
    /// Checks the form; returns the cleaned values or every field's error.
    pub fn validate(&self) -> Result<(String, SourceKind, String, String), Vec<FieldError>> {
        let mut errors = Vec::new();
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 64 {
            errors.push(FieldError::new("name", crate::tr!(validation.name_1_64)));
        }
        let kind = SourceKind::parse(&self.kind);
        if kind.is_none() {
            errors.push(FieldError::new("kind", crate::tr!(validation.choose_kind)));
        }
        let location = self.location.trim().trim_end_matches('/').to_owned();
        match kind.and_then(|k| k.scheme().map(|scheme| (k, scheme))) {
            Some((kind, scheme)) => {
                let aliases = [format!("{scheme}://"), format!("{scheme}ql://")];
                let rest = aliases
                    .iter()
                    .find_map(|prefix| location.strip_prefix(prefix.as_str()));
                let user_part = rest.and_then(|r| r.split_once('@')).map(|(user, _)| user);
                match rest {
                    None => errors.push(FieldError::new("location", kind.location_hint_text())),
                    Some(_) if user_part.is_some_and(|user| user.contains(':')) => {
                        errors.push(FieldError::new(
                            "location",
                            crate::tr!(validation.password_in_url),
                        ));
                    }
                    Some(rest) if kind.needs_database() && !rest.contains('/') => errors.push(
                        FieldError::new("location", crate::tr!(validation.name_database, scheme)),
                    ),
                    Some(_) => {}
                }
            }
            _ if !location.starts_with('/') => errors.push(FieldError::new(
                "location",
                crate::tr!(validation.absolute_path),
            )),
            _ => {}
        }
        match kind {
            Some(kind) if errors.is_empty() => {
                Ok((name, kind, location, self.description.trim().to_owned()))
            }
            _ => Err(errors),
        }
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
            password: String::new(),
            drill_server: None,
        }
        .validate()
        .unwrap();
        assert_eq!(ok.0, "tree");
        assert_eq!(ok.2, "/srv/data");
        assert_eq!(SourceKind::FileTree.url_of(&ok.2, None), "file:///srv/data");
    }

    #[test]
    fn a_cluster_location_needs_no_database_and_no_password() {
        let form = |location: &str| SourceForm {
            name: "cluster".into(),
            kind: "postgres-cluster".into(),
            location: location.into(),
            ..SourceForm::default()
        };
        let (_, kind, location, _) = form("postgres-cluster://backup@127.0.0.1:5432/")
            .validate()
            .unwrap();
        assert_eq!(kind, SourceKind::PgCluster);
        assert_eq!(location, "postgres-cluster://backup@127.0.0.1:5432");
        assert_eq!(
            kind.url_of(&location, Some("s3cret/")),
            "postgres-cluster://backup:s3cret%2F@127.0.0.1:5432"
        );
        for bad in [
            "postgres-cluster://backup:pw@127.0.0.1:5432",
            "postgres://backup@127.0.0.1:5432/db",
        ] {
            let errors = form(bad).validate().unwrap_err();
            assert_eq!(errors[0].field, "location", "{bad}");
        }
        // Drills restore databases logically: a cluster is not a drill server.
        let drill = SourceForm {
            drill_server: Some("on".into()),
            ..form("postgres-cluster://backup@127.0.0.1:5432")
        };
        assert_eq!(drill.drill_server().unwrap_err().field, "drill_server");
    }

    #[test]
    fn postgres_passwords_stay_out_of_the_location() {
        let form = |location: &str| SourceForm {
            name: "pg".into(),
            kind: "postgres".into(),
            location: location.into(),
            ..SourceForm::default()
        };
        assert!(form("postgres://app@127.0.0.1:5432/metrics")
            .validate()
            .is_ok());
        for bad in [
            "postgres://app:secret@127.0.0.1:5432/metrics",
            "postgres://app@127.0.0.1:5432/",
            "/srv/x",
        ] {
            let errors = form(bad).validate().unwrap_err();
            assert_eq!(errors[0].field, "location", "{bad}");
        }
        assert_eq!(
            SourceKind::Postgres.url_of("postgres://app@127.0.0.1:5432/metrics", Some("p@ss word")),
            "postgres://app:p%40ss%20word@127.0.0.1:5432/metrics"
        );
    }
}
