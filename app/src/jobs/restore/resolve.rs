//! Resolving a restore's settings: the task, the repository the point is
//! read from (its own, or a copy job's destination), and the target.

use crate::catalog::Catalog;
use crate::model::{RestoreSettings, RestoreTarget, SourceKind};

/// Where a restore writes: the URL the engine opens (with credentials)
/// and the text shown for it (without).
#[derive(Debug, Clone)]
pub struct ResolvedTarget {
    pub url: String,
    pub display: String,
    pub repository: crate::repo_access::RepoAccess,
    /// The name of the repository the point is read from.
    pub repository_name: String,
    /// That repository is a copy job's destination, not the task's own.
    pub from_copy: bool,
    /// The backup's source kind.
    pub kind: SourceKind,
    /// The target is the backup task's own data source.
    pub is_original: bool,
    /// The backup task's name.
    pub task_name: String,
    /// A cluster's extraction target: its URL with credentials, and how it is shown.
    pub extract: Option<(String, String)>,
}

/// Resolves the task, its repository, and the target of `settings`.
pub async fn resolve(
    catalog: &Catalog,
    settings: &RestoreSettings,
) -> Result<ResolvedTarget, String> {
    let task = catalog
        .task(settings.task_id)
        .await
        .map_err(|_| "the catalog is unavailable".to_owned())?
        .ok_or("its backup task was deleted")?;
    let repository = read_from(catalog, &task, settings.repository_id).await?;
    let from_copy = repository.id != task.settings.repository_id;
    let source = catalog
        .source(task.settings.source_id)
        .await
        .map_err(|_| "the catalog is unavailable".to_owned())?
        .ok_or("the backup task's data source was deleted")?;
    let kind = source
        .kind()
        .ok_or("the backup task's data source has a kind this server cannot read")?;
    // Copy jobs copy points, not the logs archived beside them.
    if from_copy && settings.to_time.is_some() {
        return Err(format!(
            "a point in time is recovered with the logs archived in the task's own repository; the copy in {} holds backup points only: choose a point",
            repository.name
        ));
    }
    if from_copy && kind == SourceKind::PgCluster {
        return Err(format!(
            "a PostgreSQL cluster is recovered with the WAL archived in the task's own repository; the copy in {} does not hold it",
            repository.name
        ));
    }
    let (url, display, is_original) = match &settings.target {
        RestoreTarget::NewPath(path) => {
            let url = match kind {
                // A new data directory.
                SourceKind::FileTree | SourceKind::PgCluster => format!("file://{path}"),
                SourceKind::Sqlite => format!("sqlite://{path}"),
                _ => {
                    return Err(format!(
                        "a {} backup is restored into a data source of that kind, not a path",
                        kind.label()
                    ))
                }
            };
            (url.clone(), url, *path == source.location)
        }
        RestoreTarget::Source(_) if kind == SourceKind::PgCluster => {
            return Err(
                "a PostgreSQL cluster is recovered into a new data directory, not into a data source: choose a path".into(),
            )
        }
        RestoreTarget::Source(id) => {
            let target = catalog
                .source(*id)
                .await
                .map_err(|_| "the catalog is unavailable".to_owned())?
                .ok_or("the target data source was deleted")?;
            if target.kind() != Some(kind) {
                return Err(format!(
                    "the target data source {} is {}, the backup is of {}",
                    target.name,
                    target.kind().map_or("unknown", |k| k.label()),
                    kind.label()
                ));
            }
            let url = target
                .url()
                .ok_or("the target data source cannot be opened")?;
            let display = format!("{} ({})", target.name, target.location);
            (url, display, target.id == source.id)
        }
    };
    let extract = match &settings.extract {
        Some(extract) => Some(extract_target(catalog, extract.source_id).await?),
        None => None,
    };
    Ok(ResolvedTarget {
        url,
        display,
        repository: repository.access(),
        repository_name: repository.name,
        from_copy,
        kind,
        is_original,
        task_name: task.settings.name,
        extract,
    })
}

/// The repository a restore of `task` reads from: the task's own, or the
/// destination of a copy job from it (`chosen`).
pub async fn read_from(
    catalog: &Catalog,
    task: &crate::catalog::TaskRecord,
    chosen: Option<i64>,
) -> Result<crate::catalog::RepositoryRecord, String> {
    let unavailable = |_| "the catalog is unavailable".to_owned();
    let own = task.settings.repository_id;
    if let Some(id) = chosen.filter(|id| *id != own) {
        return catalog
            .copy_destinations(own, &task.settings.name)
            .await
            .map_err(unavailable)?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| {
                format!("repository {id} is neither the task's own nor the destination of a copy job from it")
            });
    }
    catalog
        .repository(own)
        .await
        .map_err(unavailable)?
        .ok_or_else(|| "the backup task's repository was deleted".to_owned())
}

/// The PostgreSQL data source an extraction restores into.
async fn extract_target(catalog: &Catalog, id: i64) -> Result<(String, String), String> {
    let target = catalog
        .source(id)
        .await
        .map_err(|_| "the catalog is unavailable".to_owned())?
        .ok_or("the data source to extract into was deleted")?;
    if target.kind() != Some(SourceKind::Postgres) {
        return Err(format!(
            "a database of the recovered cluster is extracted into a PostgreSQL data source; {} is {}",
            target.name,
            target.kind().map_or("unknown", |k| k.label())
        ));
    }
    let url = target
        .url()
        .ok_or("the data source to extract into cannot be opened")?;
    Ok((url, format!("{} ({})", target.name, target.location)))
}
