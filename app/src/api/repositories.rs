use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A repository row of the Repositories page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepositorySummary {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub location: String,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
}

#[cfg(feature = "ssr")]
impl From<crate::catalog::RepositoryRecord> for RepositorySummary {
    fn from(r: crate::catalog::RepositoryRecord) -> Self {
        RepositorySummary {
            id: r.id,
            name: r.name,
            kind: r.kind,
            location: r.location,
            is_default: r.is_default,
            created_at: r.created_at,
        }
    }
}

#[server(endpoint = "repositories")]
pub async fn list_repositories() -> Result<Vec<RepositorySummary>, AppError> {
    let state = crate::state::app_state()?;
    let records = state.catalog.list_repositories().await?;
    Ok(records.into_iter().map(Into::into).collect())
}
