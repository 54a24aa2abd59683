//! Parsing where a repository is: a local path or an S3 URL.

use std::path::PathBuf;

use crate::error::{EngineError, Result};

/// A repository's address as a user writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoLocation {
    /// A directory on the local filesystem.
    Local(PathBuf),
    /// `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=us-east-1`.
    /// Credentials come from the standard AWS environment variables unless
    /// the repository carries its own (never part of the URL).
    S3 {
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
        region: String,
        credentials: Option<S3Credentials>,
    },
}

/// One S3 repository's own access key, used instead of the environment's
/// (a copy to another account or provider). `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl std::fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

impl RepoLocation {
    pub fn parse(text: &str) -> Result<Self> {
        let invalid = |message: &str| EngineError::invalid(format!("repository {text:?}"), message);
        if let Some(rest) = text.strip_prefix("s3://") {
            let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
            let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
            if bucket.is_empty() {
                return Err(invalid("an S3 URL needs a bucket: s3://BUCKET/PREFIX"));
            }
            let mut endpoint = None;
            let mut region = None;
            for pair in query.split('&').filter(|p| !p.is_empty()) {
                match pair.split_once('=') {
                    Some(("endpoint", v)) if !v.is_empty() => endpoint = Some(v.to_owned()),
                    Some(("region", v)) if !v.is_empty() => region = Some(v.to_owned()),
                    _ => return Err(invalid(&format!("unknown or empty parameter {pair:?} (expected endpoint=URL or region=NAME)"))),
                }
            }
            let region = region
                .or_else(|| std::env::var("AWS_REGION").ok())
                .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
                .unwrap_or_else(|| "us-east-1".to_owned());
            Ok(RepoLocation::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
                endpoint,
                region,
                credentials: None,
            })
        } else if let Some(path) = text.strip_prefix("file://") {
            Self::local(path, text)
        } else if text.contains("://") {
            Err(invalid(
                "unsupported scheme (expected a path, file:///PATH or s3://BUCKET/PREFIX)",
            ))
        } else {
            Self::local(text, text)
        }
    }

    fn local(path: &str, text: &str) -> Result<Self> {
        if path.is_empty() {
            return Err(EngineError::invalid(
                format!("repository {text:?}"),
                "empty path",
            ));
        }
        let path = PathBuf::from(path);
        let absolute = if path.is_absolute() {
            path
        } else {
            std::env::current_dir()
                .map_err(|e| EngineError::io(".", e))?
                .join(path)
        };
        Ok(RepoLocation::Local(absolute))
    }

    /// An S3 location with its own credentials (a local one is unchanged).
    pub fn with_credentials(mut self, own: Option<S3Credentials>) -> Self {
        if let RepoLocation::S3 { credentials, .. } = &mut self {
            *credentials = own;
        }
        self
    }

    /// The location for messages; never contains credentials.
    pub fn display(&self) -> String {
        match self {
            RepoLocation::Local(path) => path.display().to_string(),
            RepoLocation::S3 { bucket, prefix, .. } if prefix.is_empty() => {
                format!("s3://{bucket}")
            }
            RepoLocation::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_paths_and_s3_urls() {
        assert_eq!(
            RepoLocation::parse("/srv/repo").unwrap(),
            RepoLocation::Local("/srv/repo".into())
        );
        assert_eq!(
            RepoLocation::parse("file:///srv/repo").unwrap(),
            RepoLocation::Local("/srv/repo".into())
        );
        let s3 =
            RepoLocation::parse("s3://bkt/a/b/?endpoint=http://127.0.0.1:9000&region=eu-west-1")
                .unwrap();
        assert_eq!(
            s3,
            RepoLocation::S3 {
                bucket: "bkt".into(),
                prefix: "a/b".into(),
                endpoint: Some("http://127.0.0.1:9000".into()),
                region: "eu-west-1".into(),
                credentials: None,
            }
        );
        let own = s3.clone().with_credentials(Some(S3Credentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "never-shown".into(),
        }));
        assert_eq!(own.display(), "s3://bkt/a/b");
        assert!(!format!("{own:?}").contains("never-shown"));
        assert_eq!(s3.display(), "s3://bkt/a/b");
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in ["", "s3:///prefix", "ftp://host/x", "s3://b/p?colour=blue"] {
            let err = RepoLocation::parse(bad).unwrap_err();
            assert!(
                matches!(err, EngineError::InvalidInput { .. }),
                "{bad}: {err}"
            );
        }
    }
}
