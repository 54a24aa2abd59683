use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What the dashboard shows about the console itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    pub version: String,
    pub catalog_backend: String,
    pub schema_version: i64,
    pub repositories: i64,
    pub data_dir: String,
    pub started_at: DateTime<Utc>,
    pub checked_at: DateTime<Utc>,
}

#[server(endpoint = "overview")]
pub async fn get_overview() -> Result<Overview, AppError> {
    let state = crate::state::app_state()?;
    let catalog = &state.catalog;
    Ok(Overview {
        version: state.info.version.to_owned(),
        catalog_backend: catalog.backend().to_owned(),
        schema_version: catalog.schema_version().await?,
        repositories: catalog.count_repositories().await?,
        data_dir: state.info.data_dir.display().to_string(),
        started_at: state.info.started_at,
        checked_at: Utc::now(),
    })
}
