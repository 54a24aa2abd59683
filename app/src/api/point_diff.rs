//! Compare two points of a task: objects added, removed and changed, with
//! sizes and, for tables, row counts and time spans; computed by the engine
//! from the two manifests (no pack is read).

use chrono::{DateTime, Utc};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// The most rows one answer carries; the CLI's `tidemark diff --json`
/// gives all of them.
pub const MAX_DIFF_ROWS: usize = 5_000;

/// One added, removed or changed object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiffRow {
    pub name: String,
    /// `file`, `dir`, `symlink`, `table` or `schema`.
    pub kind: String,
    /// `added`, `removed` or `changed`.
    pub change: String,
    pub size_before: Option<u64>,
    pub size_after: Option<u64>,
    pub rows_before: Option<u64>,
    pub rows_after: Option<u64>,
    /// "first..last" of a time-series table.
    pub span_before: Option<String>,
    pub span_after: Option<String>,
    /// What differs for a changed object: `content`, `mode`, `mtime`, …
    pub differs: Vec<String>,
    /// Folders above it (file trees): how deep the tree shows it.
    pub depth: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointDiffView {
    pub task_id: i64,
    pub task_name: String,
    pub from: String,
    pub to: String,
    pub from_finished_at: DateTime<Utc>,
    pub to_finished_at: DateTime<Utc>,
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub unchanged: u64,
    pub bytes_from: u64,
    pub bytes_to: u64,
    /// In tree order: a file tree's folders before what they hold.
    pub rows: Vec<DiffRow>,
    /// Rows left out beyond [`MAX_DIFF_ROWS`].
    pub left_out: u64,
}

#[cfg(feature = "ssr")]
#[path = "point_diff_server.rs"]
pub mod server;

/// `to` against `from`; without `from`, against `to`'s parent (or the
/// task's point before it).
#[server(endpoint = "points/diff")]
pub async fn diff_points(
    task_id: i64,
    from: Option<String>,
    to: String,
) -> Result<PointDiffView, AppError> {
    let state = crate::state::allowed(crate::model::Role::Viewer).await?;
    server::diff(&state, task_id, from, to).await
}
