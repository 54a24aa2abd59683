//! Logging: `tracing` with an env filter, as text or JSON lines on stderr.

use tracing_subscriber::EnvFilter;

use crate::config::{LogArgs, LogFormat};

#[derive(Debug, thiserror::Error)]
#[error("invalid log filter (--log / TIDEMARK_LOG) {filter:?}: {source}")]
pub struct LogFilterError {
    filter: String,
    #[source]
    source: tracing_subscriber::filter::ParseError,
}

pub fn init(args: &LogArgs) -> Result<(), LogFilterError> {
    let filter = EnvFilter::try_new(&args.filter).map_err(|source| LogFilterError {
        filter: args.filter.clone(),
        source,
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(())
}
