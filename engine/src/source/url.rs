//! Source and target URLs: `file:///abs/dir`, `sqlite:///abs/file.db`.

use std::path::PathBuf;

use crate::error::{EngineError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceUrl {
    FileTree(PathBuf),
    Sqlite(PathBuf),
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
            other => Err(invalid(&format!(
                "unsupported scheme {other:?} (expected file or sqlite)"
            ))),
        }
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
        for bad in ["/srv/data", "file://relative/x", "mysql://u@127.0.0.1/db"] {
            assert!(SourceUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
