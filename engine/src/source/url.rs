//! Source and target URLs: `file:///abs/dir`, `sqlite:///abs/file.db`,
//! `postgres://user:pass@host:port/db`, `mysql://...`, and
//! `influxdb://[user:pass@]host[:8086]/db` (InfluxDB 1.x).

use std::path::PathBuf;

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceUrl {
    FileTree(PathBuf),
    Sqlite(PathBuf),
    Postgres(super::PgLocation),
    /// A whole PostgreSQL cluster, copied physically (`postgres-cluster://`).
    PgCluster(super::PgLocation),
    MySql(super::dburl::DbLocation),
    Influx(super::dburl::DbLocation),
}

impl SourceUrl {
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |m: &str| EngineError::invalid(format!("source or target URL {text:?}"), m);
        let (scheme, rest) = text.split_once("://").ok_or_else(|| {
            invalid("expected file:///ABSOLUTE/DIR or sqlite:///ABSOLUTE/FILE.db")
        })?;
        let path = PathBuf::from(rest);
        let absolute = || {
            if path.is_absolute() {
                Ok(path.clone())
            } else {
                Err(invalid(
                    "the path must be absolute (three slashes: file:///srv/data)",
                ))
            }
        };
        match scheme {
            "file" => Ok(SourceUrl::FileTree(absolute()?)),
            "sqlite" => Ok(SourceUrl::Sqlite(absolute()?)),
            "postgres" | "postgresql" => Ok(SourceUrl::Postgres(super::postgres::parse_url(text)?)),
            "postgres-cluster" => Ok(SourceUrl::PgCluster(
                super::postgres::cluster::parse_url(text)?,
            )),
            "mysql" | "mariadb" => Ok(SourceUrl::MySql(super::mysql::parse_url(text)?)),
            "influxdb" => Ok(SourceUrl::Influx(super::influx::parse_url(text)?)),
            other => Err(invalid(&format!(
                "unsupported scheme {other:?} (expected file, sqlite, postgres, postgres-cluster, mysql or influxdb)"
            ))),
        }
    }
}

/// The URL form [`SourceUrl::parse`] reads back (for UTF-8 paths; others
/// are shown lossily, as they cannot be typed in a URL anyway).
impl std::fmt::Display for SourceUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (scheme, path) = match self {
            SourceUrl::FileTree(path) => ("file", path),
            SourceUrl::Sqlite(path) => ("sqlite", path),
            // Without the password: this is for display, not for connecting.
            SourceUrl::Postgres(at)
            | SourceUrl::PgCluster(at)
            | SourceUrl::MySql(at)
            | SourceUrl::Influx(at) => return f.write_str(&at.display()),
        };
        write!(f, "{scheme}://{}", path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_schemes_and_refuses_others() {
        assert_eq!(
            SourceUrl::parse("file:///srv/iotdb/data").unwrap(),
            SourceUrl::FileTree("/srv/iotdb/data".into())
        );
        assert_eq!(
            SourceUrl::parse("sqlite:///var/lib/app.db").unwrap(),
            SourceUrl::Sqlite("/var/lib/app.db".into())
        );
        for bad in [
            "/srv/data",
            "file://relative/x",
            "oracle://u@127.0.0.1/db",
            "influxdb://127.0.0.1:8086/",
            "influxdb://127.0.0.1:notaport/db",
        ] {
            assert!(SourceUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_round_trips_through_parse() {
        for text in [
            "file:///srv/iotdb/data",
            "sqlite:///var/lib/app.db",
            "file:///srv/数据 with spaces",
            "influxdb://127.0.0.1:8086/telegraf",
            "influxdb://reader@10.0.0.5:9999/metrics",
        ] {
            let url = SourceUrl::parse(text).unwrap();
            assert_eq!(url.to_string(), text);
            assert_eq!(SourceUrl::parse(&url.to_string()).unwrap(), url);
        }
        assert_eq!(
            SourceUrl::Sqlite("/x/y.db".into()).to_string(),
            "sqlite:///x/y.db"
        );
        let influx = SourceUrl::parse("influxdb://admin:s%40cret@localhost/db").unwrap();
        assert_eq!(influx.to_string(), "influxdb://admin@localhost:8086/db");
        assert!(!format!("{influx:?}").contains("cret"));
    }
}
