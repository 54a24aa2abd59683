//! The server side of browsing a point. Points never change once
//! published, so the few manifests browsed last are kept in memory: paging
//! through a point of 100 000 files reads its manifest once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use tidemark_engine::{Manifest, ObjectEntry, ObjectKind};

use super::{BrowseEntry, BrowseView, BROWSE_PAGE};
use crate::error::{blocking, AppError};
use crate::state::AppState;

/// Manifests kept, newest last: (repository location, point id).
const CACHED: usize = 4;
type Cache = Mutex<Vec<((String, String), Arc<Manifest>)>>;
static MANIFESTS: Cache = Mutex::new(Vec::new());

fn cached(key: &(String, String)) -> Option<Arc<Manifest>> {
    let cache = MANIFESTS.lock().ok()?;
    cache
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, m)| Arc::clone(m))
}

fn remember(key: (String, String), manifest: Arc<Manifest>) {
    if let Ok(mut cache) = MANIFESTS.lock() {
        cache.retain(|(k, _)| *k != key);
        if cache.len() >= CACHED {
            cache.remove(0);
        }
        cache.push((key, manifest));
    }
}

/// `rwxr-x---` of the permission bits.
fn mode_text(mode: u32) -> String {
    let bits = ['r', 'w', 'x'];
    (0..9)
        .map(|i| {
            if mode & (0o400 >> i) != 0 {
                bits[i % 3]
            } else {
                '-'
            }
        })
        .collect()
}

fn entry(o: &ObjectEntry, label: String) -> BrowseEntry {
    let digest = o
        .checksum
        .clone()
        .or_else(|| o.digest.map(String::from))
        .map(|d| d.chars().take(16).collect());
    BrowseEntry {
        name: o.name.clone(),
        label,
        kind: o.kind.as_str().into(),
        size: o.size,
        entries_below: 0,
        mode: o.mode.map(mode_text),
        modified: o
            .mtime_ns
            .and_then(|ns| i64::try_from(ns).ok())
            .map(|ns| Utc.timestamp_nanos(ns)),
        link_target: o.link_target.clone(),
        rows: o.rows,
        time_min: o.time_min.clone(),
        time_max: o.time_max.clone(),
        digest,
    }
}

/// The direct entries of `folder` ("" is the top): its own objects, and a
/// folder for each name one level down (also when the point holds no
/// entry for the folder itself), with the size of all below it.
fn children(manifest: &Manifest, folder: &str) -> Vec<BrowseEntry> {
    let prefix = if folder.is_empty() {
        String::new()
    } else {
        format!("{folder}/")
    };
    let mut found: BTreeMap<&str, BrowseEntry> = BTreeMap::new();
    for object in &manifest.objects {
        let Some(rest) = object.name.strip_prefix(&prefix) else {
            continue;
        };
        if rest.is_empty() {
            continue;
        }
        match rest.split_once('/') {
            None => {
                let mut own = entry(object, rest.to_owned());
                match found.get_mut(rest) {
                    // Its folder entry was made by what lies below it.
                    Some(known) if object.kind == ObjectKind::Dir => {
                        known.mode = own.mode;
                        known.modified = own.modified;
                    }
                    _ => {
                        if object.kind == ObjectKind::Dir {
                            own.size = 0;
                        }
                        found.insert(rest, own);
                    }
                }
            }
            Some((head, _)) => {
                let e = found.entry(head).or_insert_with(|| BrowseEntry {
                    name: format!("{prefix}{head}"),
                    label: head.to_owned(),
                    kind: "dir".into(),
                    size: 0,
                    entries_below: 0,
                    mode: None,
                    modified: None,
                    link_target: None,
                    rows: None,
                    time_min: None,
                    time_max: None,
                    digest: None,
                });
                e.size += object.size;
                e.entries_below += 1;
            }
        }
    }
    // Folders first, then by name.
    let mut entries: Vec<BrowseEntry> = found.into_values().collect();
    entries.sort_by(|a, b| {
        (a.kind != "dir")
            .cmp(&(b.kind != "dir"))
            .then(a.label.cmp(&b.label))
    });
    entries
}

/// Every object whose name matches `search`: `/…/` is a regular
/// expression, anything else a substring (either ignoring case).
fn matches(manifest: &Manifest, search: &str) -> Result<Vec<BrowseEntry>, AppError> {
    let pattern = match search.strip_prefix('/').and_then(|s| s.strip_suffix('/')) {
        Some(expression) if !expression.is_empty() => expression.to_owned(),
        _ => regex::escape(search),
    };
    let regex = regex::RegexBuilder::new(&pattern)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|err| AppError::Invalid {
            field: "search".into(),
            message: format!("not a regular expression: {err}"),
        })?;
    Ok(manifest
        .objects
        .iter()
        .filter(|o| regex.is_match(&o.name))
        .map(|o| entry(o, o.name.clone()))
        .collect())
}

pub async fn browse(
    state: &AppState,
    task_id: i64,
    point_id: &str,
    folder: &str,
    search: &str,
    page: u32,
) -> Result<BrowseView, AppError> {
    let task = super::super::tasks::server::load_task(state, task_id).await?;
    let repository = state
        .catalog
        .repository(task.settings.repository_id)
        .await?
        .ok_or_else(|| AppError::Conflict("the task's repository was deleted".into()))?
        .access();
    let key = (repository.location().to_owned(), point_id.to_owned());
    let manifest = match cached(&key) {
        Some(manifest) => manifest,
        None => {
            let point = point_id.to_owned();
            let manifest = blocking(move || Ok(repository.open_for_request()?.point(&point)?))
                .await
                .map(Arc::new)?;
            remember(key, Arc::clone(&manifest));
            manifest
        }
    };
    if manifest.task != task.settings.name {
        return Err(AppError::NotFound(format!(
            "point {point_id} of task {}",
            task.settings.name
        )));
    }
    // Files, folders and links (file trees, PostgreSQL data directories).
    let tree = manifest.objects.iter().all(|o| {
        matches!(
            o.kind,
            ObjectKind::File | ObjectKind::Dir | ObjectKind::Symlink
        )
    });
    let folder = folder.trim_matches('/');
    let search = search.trim();
    let all = if !search.is_empty() {
        matches(&manifest, search)?
    } else if tree {
        children(&manifest, folder)
    } else {
        manifest
            .objects
            .iter()
            .map(|o| entry(o, o.name.clone()))
            .collect()
    };
    let total = all.len();
    let pages = total.div_ceil(BROWSE_PAGE).max(1);
    let page = (page.max(1) as usize).min(pages);
    let entries = all
        .into_iter()
        .skip((page - 1) * BROWSE_PAGE)
        .take(BROWSE_PAGE)
        .collect();
    let mut breadcrumbs = vec![("top".to_owned(), String::new())];
    if search.is_empty() && !folder.is_empty() {
        let mut path = String::new();
        for part in folder.split('/') {
            if !path.is_empty() {
                path.push('/');
            }
            path.push_str(part);
            breadcrumbs.push((part.to_owned(), path.clone()));
        }
    }
    Ok(BrowseView {
        task_id,
        task_name: task.settings.name,
        point_id: manifest.id.clone(),
        finished_at: manifest.finished_at,
        tree,
        folder: if search.is_empty() {
            folder.to_owned()
        } else {
            String::new()
        },
        breadcrumbs,
        search: search.to_owned(),
        entries,
        total: total as u64,
        page: page as u32,
        pages: pages as u32,
        objects: manifest.objects.len() as u64,
        downloads: false,
    })
}
