//! Data sources: list, save, delete, test the connection, browse objects.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::model::{SourceForm, TaskForm};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSummary {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub kind_label: String,
    pub location: String,
    pub description: String,
    pub is_demo: bool,
    pub created_at: DateTime<Utc>,
    /// Kept for restore drills.
    #[serde(default)]
    pub drill_server: bool,
}

impl SourceSummary {
    pub fn to_form(&self) -> SourceForm {
        SourceForm {
            name: self.name.clone(),
            kind: self.kind.clone(),
            location: self.location.clone(),
            description: self.description.clone(),
            password: String::new(),
            drill_server: self.drill_server.then(|| "on".into()),
        }
    }
}

/// What "Test connection" found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionReport {
    pub kind: String,
    pub server_version: Option<String>,
    pub objects: u64,
    pub bytes: u64,
}

/// One object of a source (a table, a file, a directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceObject {
    pub name: String,
    pub kind: String,
    pub size: u64,
    pub rows: Option<u64>,
}

/// Objects of a source, at most [`OBJECT_LIMIT`] of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectListing {
    pub objects: Vec<SourceObject>,
    pub total: u64,
    pub total_bytes: u64,
    pub server_version: Option<String>,
}

pub const OBJECT_LIMIT: usize = 2_000;

#[cfg(feature = "ssr")]
mod server {
    use super::*;
    use crate::catalog::SourceRecord;
    use tidemark_engine::{open_source, Selection, SourceUrl};

    impl From<SourceRecord> for SourceSummary {
        fn from(r: SourceRecord) -> Self {
            SourceSummary {
                kind_label: r
                    .kind()
                    .map_or_else(|| r.kind.clone(), |k| k.label().to_owned()),
                id: r.id,
                name: r.name,
                kind: r.kind,
                location: r.location,
                description: r.description,
                is_demo: r.is_demo,
                created_at: r.created_at,
                drill_server: r.drill_server,
            }
        }
    }

    /// Describes the source at `url` with the given include patterns.
    pub async fn describe(url: String, include: Vec<String>) -> Result<ObjectListing, AppError> {
        crate::error::blocking(move || {
            let selection = Selection {
                include,
                exclude: Vec::new(),
                ..Selection::default()
            };
            let source = open_source(&SourceUrl::parse(&url)?, &selection)?;
            let description = source.describe()?;
            let total = description.objects.len() as u64;
            let total_bytes = description.objects.iter().map(|o| o.size).sum();
            let objects = description
                .objects
                .into_iter()
                .take(OBJECT_LIMIT)
                .map(|o| SourceObject {
                    kind: o.kind.as_str().to_owned(),
                    name: o.name,
                    size: o.size,
                    rows: o.rows,
                })
                .collect();
            Ok(ObjectListing {
                objects,
                total,
                total_bytes,
                server_version: description.server_version,
            })
        })
        .await
    }

    pub async fn source_url(state: &crate::state::AppState, id: i64) -> Result<String, AppError> {
        let record = state
            .catalog
            .source(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("data source {id}")))?;
        record.url().ok_or_else(|| {
            AppError::Conflict(format!("data source {:?} has an unknown kind", record.name))
        })
    }
}

#[cfg(feature = "ssr")]
pub use server::{describe, source_url};

#[server(endpoint = "sources")]
pub async fn list_sources() -> Result<Vec<SourceSummary>, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    Ok(state
        .catalog
        .list_sources()
        .await?
        .into_iter()
        .map(Into::into)
        .collect())
}

/// Creates (no `id`) or updates a data source.
#[server(endpoint = "sources/save")]
pub async fn save_source(id: Option<i64>, form: SourceForm) -> Result<SourceSummary, AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Admin).await?;
    let audit_target = form.name.clone();
    let work = async move {
        let validated = form.validate();
        let drill_server = form.drill_server();
        let (name, kind, location, description) = match (validated, drill_server.clone()) {
            (Ok(values), Ok(_)) => values,
            (validated, drill) => {
                let mut errors = validated.err().unwrap_or_default();
                errors.extend(drill.err());
                return Err(AppError::Validation(errors));
            }
        };
        let drill_server = drill_server.unwrap_or(false);
        let new = crate::catalog::NewSource {
            name: &name,
            kind,
            location: &location,
            description: &description,
            is_demo: false,
            // Blank keeps the stored password; kinds without one store none.
            secret: (kind.has_password() && !form.password.is_empty())
                .then_some(form.password.as_str()),
        };
        let record = match id {
            None => state.catalog.insert_source(&new).await?,
            Some(id) => state
                .catalog
                .update_source(id, &new)
                .await?
                .ok_or_else(|| AppError::NotFound(format!("data source {id}")))?,
        };
        state
            .catalog
            .set_source_drill_server(record.id, drill_server)
            .await?;
        tracing::info!(source = %record.name, drill_server, "data source saved");
        Ok(SourceSummary {
            drill_server,
            ..record.into()
        })
    };
    crate::auth::audited(
        &guard_state,
        &actor,
        "save data source",
        &audit_target,
        work,
    )
    .await
}

#[server(endpoint = "sources/delete")]
pub async fn delete_source(id: i64) -> Result<(), AppError> {
    let guard_state = crate::state::app_state()?;
    let state = guard_state.clone();
    let actor = crate::auth::require(&guard_state, crate::model::Role::Admin).await?;
    let audit_target = id.to_string();
    let work = async move {
        match state.catalog.delete_source(id).await? {
            Ok(true) => Ok(()),
            Ok(false) => Err(AppError::NotFound(format!("data source {id}"))),
            Err(tasks) => Err(AppError::Conflict(format!(
                "this data source is used by task(s) {}; delete or change them first",
                tasks.join(", ")
            ))),
        }
    };
    crate::auth::audited(
        &guard_state,
        &actor,
        "delete data source",
        &audit_target,
        work,
    )
    .await
}

/// Opens the source the form describes and lists what it holds. A blank
/// password of an existing source (`id`) means its stored one.
#[server(endpoint = "sources/test")]
pub async fn test_source(id: Option<i64>, form: SourceForm) -> Result<ConnectionReport, AppError> {
    let state = crate::state::allowed(crate::model::Role::Admin).await?;
    let (_, kind, location, _) = form.validate().map_err(AppError::Validation)?;
    let stored = match id {
        Some(id) if form.password.is_empty() => {
            state.catalog.source(id).await?.and_then(|s| s.secret)
        }
        _ => None,
    };
    let password = if form.password.is_empty() {
        stored
    } else {
        Some(form.password.clone())
    };
    let url = kind.url_of(&location, password.as_deref());
    let listing = describe(url, Vec::new()).await?;
    Ok(ConnectionReport {
        kind: kind.label().to_owned(),
        server_version: listing.server_version,
        objects: listing.total,
        bytes: listing.total_bytes,
    })
}

/// Every object of a source (for the content tree).
#[server(endpoint = "sources/objects")]
pub async fn source_objects(source_id: i64) -> Result<ObjectListing, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    describe(source_url(&state, source_id).await?, Vec::new()).await
}

/// What a task's content selects right now (the regular-expression preview).
#[server(endpoint = "sources/preview")]
pub async fn preview_content(form: TaskForm) -> Result<ObjectListing, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    let source_id = form.source_id.trim().parse::<i64>().map_err(|_| {
        AppError::Validation(vec![crate::model::FieldError::new(
            "source_id",
            crate::tr!(validation.choose_a_data_source_first),
        )])
    })?;
    let content = form.content().map_err(|e| AppError::Validation(vec![e]))?;
    describe(
        source_url(&state, source_id).await?,
        content.include_patterns(),
    )
    .await
}
