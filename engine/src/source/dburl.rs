//! Database server URLs: `postgres://`, `mysql://` and `influxdb://` with
//! user, password, host, port and database. The password is kept for connecting only:
//! `display` and `Debug` never show it.

use crate::error::{EngineError, Result};

#[derive(Clone, PartialEq, Eq)]
pub struct DbLocation {
    /// `postgres`, `mysql` or `influxdb`.
    pub scheme: &'static str,
    pub host: String,
    pub port: u16,
    /// Empty when the URL names none and the server has no default (InfluxDB).
    pub user: String,
    password: Option<String>,
    pub database: String,
}

impl std::fmt::Debug for DbLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

impl DbLocation {
    /// Parses a URL of the given scheme (aliases accepted), with the
    /// server's usual port and user as defaults.
    pub fn parse(
        text: &str,
        scheme: &'static str,
        aliases: &[&str],
        default_port: u16,
        default_user: &str,
    ) -> Result<Self> {
        let what = format!("{scheme} URL");
        let expected = format!("{scheme}://USER:PASSWORD@HOST:PORT/DATABASE");
        let invalid = |m: String| EngineError::invalid(what.clone(), m);
        let url =
            url::Url::parse(text).map_err(|e| invalid(format!("{e} (expected {expected})")))?;
        if url.scheme() != scheme && !aliases.contains(&url.scheme()) {
            return Err(invalid(format!("the scheme must be {scheme}://")));
        }
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let database = url.path().trim_start_matches('/').to_owned();
        if database.is_empty() || database.contains('/') {
            return Err(invalid(format!("name the database: {expected}")));
        }
        let user = decode(url.username());
        Ok(DbLocation {
            scheme,
            host: url.host_str().unwrap_or("127.0.0.1").to_owned(),
            port: url.port().unwrap_or(default_port),
            user: if user.is_empty() {
                default_user.to_owned()
            } else {
                user
            },
            password: url.password().map(decode),
            database: decode(&database),
        })
    }

    /// The URL without the password, for manifests and messages.
    pub fn display(&self) -> String {
        let user = if self.user.is_empty() {
            String::new()
        } else {
            format!("{}@", self.user)
        };
        format!(
            "{}://{user}{}:{}/{}",
            self.scheme, self.host, self.port, self.database
        )
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The URL with the password, for a file only the owner reads (a drill
    /// records its scratch database so a later start can drop it).
    pub fn secret_url(&self) -> String {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let user = match (self.user.is_empty(), &self.password) {
            (true, _) => String::new(),
            (false, None) => format!("{}@", enc(&self.user)),
            (false, Some(pw)) => format!("{}:{}@", enc(&self.user), enc(pw)),
        };
        format!(
            "{}://{user}{}:{}/{}",
            self.scheme,
            self.host,
            self.port,
            enc(&self.database)
        )
    }

    /// The same server, another database.
    pub fn with_database(&self, database: &str) -> Self {
        DbLocation {
            database: database.to_owned(),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_show_the_password() {
        let l = DbLocation::parse(
            "postgres://admin:s%40cret@127.0.0.1:5433/metrics",
            "postgres",
            &["postgresql"],
            5432,
            "postgres",
        )
        .unwrap();
        assert_eq!(
            (l.host.as_str(), l.port, l.user.as_str()),
            ("127.0.0.1", 5433, "admin")
        );
        assert_eq!(l.password(), Some("s@cret"));
        assert_eq!(l.display(), "postgres://admin@127.0.0.1:5433/metrics");
        assert!(!format!("{l:?}").contains("cret"));
        let again = DbLocation::parse(&l.secret_url(), "postgres", &[], 5432, "postgres").unwrap();
        assert!(again == l, "{}", l.secret_url());
        let m = DbLocation::parse(
            "mysql://app@127.0.0.1/shop",
            "mysql",
            &["mariadb"],
            3306,
            "root",
        )
        .unwrap();
        assert_eq!((m.port, m.password()), (3306, None));
        assert!(DbLocation::parse(
            "postgres://u@127.0.0.1:5432/",
            "postgres",
            &[],
            5432,
            "postgres"
        )
        .is_err());
        assert!(DbLocation::parse(
            "mysql://u@127.0.0.1/db",
            "postgres",
            &["postgresql"],
            5432,
            "postgres"
        )
        .is_err());
    }
}
