//! Typed configuration of `tidemark serve`, from flags and environment.
//!
//! | setting        | flag            | environment           | default                         |
//! |----------------|-----------------|-----------------------|---------------------------------|
//! | listen address | `--listen`      | `TIDEMARK_LISTEN`     | `127.0.0.1:3000`                |
//! | data directory | `--data-dir`    | `TIDEMARK_DATA_DIR`   | `./data`                        |
//! | catalog URL    | `--catalog-url` | `TIDEMARK_CATALOG_URL`| `sqlite://<data dir>/catalog.db`|
//! | site directory | `--site-dir`    | `TIDEMARK_SITE_DIR`   | `target/site`                   |
//! | log filter     | `--log`         | `TIDEMARK_LOG`        | `info`                          |
//! | log format     | `--log-format`  | `TIDEMARK_LOG_FORMAT` | `text` (or `json`)              |
//! | restore roots  | `--restore-root`| `TIDEMARK_RESTORE_ROOTS` (comma-separated) | `<data dir>/restores` |
//! | admins restore anywhere | `--admin-restore-anywhere` | `TIDEMARK_ADMIN_RESTORE_ANYWHERE` | off |

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// Raw settings as given; `ServeConfig::try_from` validates them.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port the console listens on.
    #[arg(
        long,
        env = "TIDEMARK_LISTEN",
        default_value = "127.0.0.1:3000",
        value_name = "ADDR"
    )]
    pub listen: String,
    /// Directory for the catalog, the default repository and other state.
    #[arg(
        long,
        env = "TIDEMARK_DATA_DIR",
        default_value = "./data",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// Catalog database URL (default: SQLite in the data directory).
    #[arg(long, env = "TIDEMARK_CATALOG_URL", value_name = "URL")]
    pub catalog_url: Option<String>,
    /// Directory holding the built site (`pkg/` with the WASM bundle and CSS).
    #[arg(
        long,
        env = "TIDEMARK_SITE_DIR",
        default_value = "target/site",
        value_name = "DIR"
    )]
    pub site_dir: PathBuf,
    /// Sign-in attempts allowed per client address per minute.
    #[arg(
        long,
        env = "TIDEMARK_LOGIN_ATTEMPTS",
        default_value_t = 10,
        value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=1000)
    )]
    pub login_attempts: u32,
    /// A session ends after this many seconds without a request.
    #[arg(
        long,
        env = "TIDEMARK_SESSION_IDLE_SECS",
        default_value_t = 1800,
        value_name = "SECS",
        value_parser = clap::value_parser!(u32).range(1..=86_400)
    )]
    pub session_idle_secs: u32,
    /// A session ends this many seconds after sign-in, however active.
    #[arg(
        long,
        env = "TIDEMARK_SESSION_MAX_SECS",
        default_value_t = 43_200,
        value_name = "SECS",
        value_parser = clap::value_parser!(u32).range(1..=2_592_000)
    )]
    pub session_max_secs: u32,
    /// Send the session cookie over HTTPS only: set when TLS terminates in
    /// front of the console.
    #[arg(long, env = "TIDEMARK_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// A directory restores may create new paths below (repeatable; the
    /// default is `restores/` in the data directory). Each must exist.
    #[arg(
        long = "restore-root",
        env = "TIDEMARK_RESTORE_ROOTS",
        value_delimiter = ',',
        value_name = "DIR"
    )]
    pub restore_roots: Vec<PathBuf>,
    /// Let admins (never operators) restore to new paths outside the
    /// restore roots.
    #[arg(long, env = "TIDEMARK_ADMIN_RESTORE_ANYWHERE")]
    pub admin_restore_anywhere: bool,
}

/// Logging settings, shared by every subcommand.
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log filter in `tracing` env-filter syntax, e.g. `info` or `server=debug,sqlx=warn`.
    #[arg(
        long = "log",
        env = "TIDEMARK_LOG",
        default_value = "info",
        value_name = "FILTER",
        global = true
    )]
    pub filter: String,
    /// Log line format.
    #[arg(
        long,
        env = "TIDEMARK_LOG_FORMAT",
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A setting that could not be used; the message names the setting, its
/// flag and environment variable, the value and the reason.
#[derive(Debug, thiserror::Error)]
#[error("invalid {setting} ({flag} / {env}) {value:?}: {reason}")]
pub struct ConfigError {
    pub setting: &'static str,
    pub flag: &'static str,
    pub env: &'static str,
    pub value: String,
    pub reason: String,
}

/// Validated configuration of the console server.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub catalog_url: String,
    pub site_dir: PathBuf,
    pub login_attempts_per_minute: u32,
    pub sessions: app::auth::SessionLimits,
    pub restore_roots: app::jobs::restore::RestoreRoots,
}

impl ServeConfig {
    /// Validates the arguments and prepares the data directory (created if
    /// missing, proven writable).
    pub fn prepare(args: ServeArgs) -> Result<Self, ConfigError> {
        let listen = args
            .listen
            .parse::<SocketAddr>()
            .map_err(|err| ConfigError {
                setting: "listen address",
                flag: "--listen",
                env: "TIDEMARK_LISTEN",
                value: args.listen.clone(),
                reason: format!("{err}; expected IP:PORT such as 127.0.0.1:3000"),
            })?;
        let data_dir =
            tidemark_engine::prepare_local_dir(&args.data_dir).map_err(|err| ConfigError {
                setting: "data directory",
                flag: "--data-dir",
                env: "TIDEMARK_DATA_DIR",
                value: args.data_dir.display().to_string(),
                reason: err.to_string(),
            })?;
        let restore_roots = restore_roots(&args, &data_dir)?;
        let catalog_url = args
            .catalog_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("catalog.db").display()));
        Ok(ServeConfig {
            listen,
            data_dir,
            catalog_url,
            site_dir: args.site_dir,
            login_attempts_per_minute: args.login_attempts,
            sessions: app::auth::SessionLimits {
                idle_secs: i64::from(args.session_idle_secs),
                max_secs: i64::from(args.session_max_secs),
                secure_cookie: args.secure_cookies,
            },
            restore_roots,
        })
    }

    /// Where the default local repository lives.
    pub fn default_repository_dir(&self) -> PathBuf {
        self.data_dir.join("repositories").join("local-default")
    }
}

/// The configured restore roots, or `restores/` in the data directory
/// (created); a configured one must already exist.
fn restore_roots(
    args: &ServeArgs,
    data_dir: &std::path::Path,
) -> Result<app::jobs::restore::RestoreRoots, ConfigError> {
    let invalid = |value: &std::path::Path, reason: String| ConfigError {
        setting: "restore root",
        flag: "--restore-root",
        env: "TIDEMARK_RESTORE_ROOTS",
        value: value.display().to_string(),
        reason,
    };
    let roots = if args.restore_roots.is_empty() {
        let default = data_dir.join("restores");
        std::fs::create_dir_all(&default).map_err(|e| invalid(&default, e.to_string()))?;
        vec![default]
    } else {
        args.restore_roots.clone()
    };
    for root in &roots {
        if !root.is_absolute() && !args.restore_roots.is_empty() {
            return Err(invalid(root, "give an absolute path".into()));
        }
        if !root.is_dir() {
            return Err(invalid(root, "no such directory".into()));
        }
    }
    app::jobs::restore::RestoreRoots::new(&roots, args.admin_restore_anywhere)
        .map_err(|e| invalid(&roots[0], e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(listen: &str, data_dir: PathBuf) -> ServeArgs {
        ServeArgs {
            listen: listen.into(),
            data_dir,
            catalog_url: None,
            site_dir: "target/site".into(),
            login_attempts: 10,
            session_idle_secs: 1800,
            session_max_secs: 43_200,
            secure_cookies: false,
            restore_roots: Vec::new(),
            admin_restore_anywhere: false,
        }
    }

    #[test]
    fn defaults_put_the_catalog_in_the_data_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let config = ServeConfig::prepare(args("127.0.0.1:0", tmp.path().join("d"))).unwrap();
        assert!(config.catalog_url.starts_with("sqlite://"));
        assert!(
            config.catalog_url.ends_with("/d/catalog.db"),
            "{}",
            config.catalog_url
        );
        assert!(config.data_dir.is_dir());
    }

    #[test]
    fn restores_go_below_the_data_dir_unless_roots_are_given() {
        let tmp = tempfile::tempdir().unwrap();
        let config = ServeConfig::prepare(args("127.0.0.1:0", tmp.path().join("d"))).unwrap();
        let default = tmp.path().join("d/restores").canonicalize().unwrap();
        assert_eq!(config.restore_roots.roots(), [default]);
        let mut given = args("127.0.0.1:0", tmp.path().join("d"));
        given.restore_roots = vec![tmp.path().join("no-such-root")];
        let text = ServeConfig::prepare(given).unwrap_err().to_string();
        assert!(
            text.contains("--restore-root") && text.contains("no such directory"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_listen_address_names_the_setting() {
        let tmp = tempfile::tempdir().unwrap();
        let err = ServeConfig::prepare(args("localhost:http", tmp.path().into())).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("listen address") && text.contains("TIDEMARK_LISTEN"),
            "{text}"
        );
        assert!(text.contains("localhost:http"), "{text}");
    }

    #[test]
    fn an_unusable_data_dir_names_the_setting() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let err = ServeConfig::prepare(args("127.0.0.1:0", file)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("data directory") && text.contains("--data-dir"),
            "{text}"
        );
    }
}
