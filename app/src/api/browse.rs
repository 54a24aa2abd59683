//! Browse a point: a file tree folder by folder (its direct entries, paged,
//! with sizes, modes and modification times), a database point as its
//! tables and structure objects with row counts, time spans and content
//! digests; and a search by name (substring, or a regular expression
//! written `/…/`) over the whole point.

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// Entries shown on one page.
pub const BROWSE_PAGE: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowseEntry {
    /// The object's name in the point (a path for file trees).
    pub name: String,
    /// What is shown: the last part of a path, or the whole name.
    pub label: String,
    /// `file`, `dir`, `symlink`, `table` or `schema`.
    pub kind: String,
    /// A folder's: everything below it.
    pub size: u64,
    /// A folder's: the entries below it, at any depth.
    pub entries_below: u64,
    /// `rwxr-x---` style, when the point recorded a mode.
    pub mode: Option<String>,
    pub modified: Option<DateTime<Utc>>,
    pub link_target: Option<String>,
    pub rows: Option<u64>,
    pub time_min: Option<String>,
    pub time_max: Option<String>,
    /// The content checksum or row digest the point recorded (shortened).
    pub digest: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BrowseView {
    pub task_id: i64,
    pub task_name: String,
    pub point_id: String,
    pub finished_at: DateTime<Utc>,
    /// A file tree (folders), or a database's objects (one level).
    pub tree: bool,
    /// The folder shown ("" for the top), or none while searching.
    pub folder: String,
    /// (label, folder) from the top down to `folder`.
    pub breadcrumbs: Vec<(String, String)>,
    pub search: String,
    pub entries: Vec<BrowseEntry>,
    /// Entries in the folder (or matches of the search), over all pages.
    pub total: u64,
    pub page: u32,
    pub pages: u32,
    /// Objects in the whole point.
    pub objects: u64,
    /// The user may download its files (operators and admins; viewers when
    /// an administrator allows it).
    #[serde(default)]
    pub downloads: bool,
}

#[cfg(feature = "ssr")]
#[path = "browse_server.rs"]
pub mod server;

/// One page of a folder of a point, or of the matches of `search`.
#[server(endpoint = "points/browse")]
pub async fn browse_point(
    task_id: i64,
    point_id: String,
    folder: String,
    search: String,
    page: u32,
) -> Result<BrowseView, AppError> {
    let state = crate::state::app_state()?;
    let actor = crate::auth::require(&state, crate::model::Role::Viewer).await?;
    let mut view = server::browse(&state, task_id, &point_id, &folder, &search, page).await?;
    let viewers = state.catalog.viewer_downloads().await?;
    view.downloads = crate::api::download::may_download(actor.role, viewers).is_ok();
    Ok(view)
}
