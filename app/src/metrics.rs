//! `GET /metrics`: what Prometheus scrapes, in its text format, for a
//! bearer API token of any role (a browser session is not enough: a
//! scraper has no cookie, and a page has no use for this).
//!
//! Figures come from the catalog (runs, tasks, restores), the live jobs,
//! and each repository (size, packs, deduplication, points per task). A
//! repository is read at most once a minute (`REPOSITORY_TTL`): reading
//! every manifest on each 15-second scrape would load the storage for
//! nothing. The text is written by `prometheus-client` (label values
//! escaped here: it writes them as given).

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::error::AppError;
use crate::model::{JobPhase, RestoreState, RunState};
use crate::state::AppState;

pub const PATH: &str = "/metrics";

/// How long a repository's figures are served from memory.
const REPOSITORY_TTL: Duration = Duration::from_secs(60);

/// Prometheus' text exposition format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A repository's figures as last read.
#[derive(Debug, Clone, Default)]
struct RepositoryFigures {
    readable: bool,
    stored_bytes: u64,
    logical_bytes: u64,
    packs: u64,
    points: u64,
    dedup_ratio: f64,
    /// Per task name: points kept and the newest one's end (Unix seconds).
    tasks: HashMap<String, (u64, i64)>,
}

/// Repositories' figures by id, with when they were read.
#[derive(Debug, Default)]
pub struct RepositoryCache(Mutex<HashMap<i64, (Instant, RepositoryFigures)>>);

impl RepositoryCache {
    fn fresh(&self, id: i64) -> Option<RepositoryFigures> {
        let cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .get(&id)
            .filter(|(at, _)| at.elapsed() < REPOSITORY_TTL)
            .map(|(_, figures)| figures.clone())
    }

    fn store(&self, id: i64, figures: RepositoryFigures) {
        let mut cache = self.0.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(id, (Instant::now(), figures));
    }
}

pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let max = state.auth.limits.max_secs;
    match crate::auth::resolve(&state.catalog, max, None, &headers, None).await {
        Ok(Some(actor)) if actor.via_token => {}
        Ok(_) => {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "an API token is needed: Authorization: Bearer TOKEN (Account page)\n",
            )
                .into_response()
        }
        Err(err) => return failed(&err),
    }
    match render(&state).await {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response(),
        Err(err) => failed(&err),
    }
}

fn failed(err: &AppError) -> Response {
    tracing::error!(error = %err, "metrics could not be gathered");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "the metrics could not be gathered (the server log says why)\n",
    )
        .into_response()
}

type Labels = Vec<(String, String)>;
type Values = Family<Labels, Gauge<f64, AtomicU64>>;

/// One gauge family: registered once, a value per label set.
struct Gauges<'a> {
    registry: &'a mut Registry,
}

impl Gauges<'_> {
    fn family(&mut self, name: &str, help: &str, values: Vec<(Labels, f64)>) {
        let family = Values::default();
        for (labels, value) in values {
            family.get_or_create(&labels).set(value);
        }
        self.registry.register(name, help, family);
    }
}

/// One label. `prometheus-client` writes label values as given, so they
/// are escaped here as the text format wants (a task name may hold
/// quotes, backslashes, newlines).
fn label(name: &str, value: &str) -> Labels {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            c => escaped.push(c),
        }
    }
    vec![(name.to_owned(), escaped)]
}

/// The whole exposition, gathered now.
pub async fn render(state: &AppState) -> Result<String, AppError> {
    let catalog = &state.catalog;
    let tasks = catalog.list_tasks().await?;
    let names: HashMap<i64, String> = tasks
        .iter()
        .map(|t| (t.id, t.settings.name.clone()))
        .collect();
    let task_label = |id: &i64| names.get(id).map(|n| label("task", n));
    let when = |runs: Vec<crate::catalog::RunRecord>| {
        runs.into_iter()
            .filter_map(|r| {
                let at = r.finished_at?;
                Some((task_label(&r.task_id)?, at.timestamp() as f64))
            })
            .collect::<Vec<_>>()
    };
    let mut registry = Registry::default();
    let mut gauges = Gauges {
        registry: &mut registry,
    };
    gauges.family(
        "tidemark_build_info",
        "The running Tidemark's version (always 1)",
        vec![(label("version", state.info.version), 1.0)],
    );
    gauges.family(
        "tidemark_task_last_success_timestamp_seconds",
        "When the task's newest successful backup ended (Unix time)",
        when(catalog.last_runs_in(RunState::Succeeded).await?),
    );
    gauges.family(
        "tidemark_task_last_failure_timestamp_seconds",
        "When the task's newest failed backup ended (Unix time)",
        when(catalog.last_runs_in(RunState::Failed).await?),
    );
    let last = catalog.last_runs().await?;
    let finished: Vec<_> = last
        .iter()
        .filter_map(|r| Some((r, task_label(&r.task_id)?, r.finished_at?)))
        .collect();
    gauges.family(
        "tidemark_task_last_duration_seconds",
        "How long the task's newest finished run took",
        finished
            .iter()
            .map(|(r, l, end)| {
                let secs = (*end - r.started_at).num_milliseconds() as f64 / 1000.0;
                (l.clone(), secs.max(0.0))
            })
            .collect(),
    );
    gauges.family(
        "tidemark_task_last_read_bytes",
        "Bytes the task's newest finished run read from its source",
        finished
            .iter()
            .map(|(r, l, _)| (l.clone(), r.bytes as f64))
            .collect(),
    );
    gauges.family(
        "tidemark_task_last_stored_bytes",
        "Bytes the task's newest finished run added to its repository",
        finished
            .iter()
            .map(|(r, l, _)| (l.clone(), r.bytes_stored as f64))
            .collect(),
    );
    let repositories = repository_figures(state).await?;
    let now = Utc::now().timestamp();
    let mut points = Vec::new();
    let mut ages = Vec::new();
    for task in &tasks {
        let Some(figures) = repositories
            .iter()
            .find(|(id, _, _)| *id == task.settings.repository_id)
            .map(|(_, _, f)| f)
            .filter(|f| f.readable)
        else {
            continue;
        };
        let (count, newest) = figures
            .tasks
            .get(&task.settings.name)
            .copied()
            .unwrap_or((0, 0));
        points.push((label("task", &task.settings.name), count as f64));
        if count > 0 {
            ages.push((
                label("task", &task.settings.name),
                (now - newest).max(0) as f64,
            ));
        }
    }
    gauges.family(
        "tidemark_task_points",
        "Backup points of the task its repository keeps",
        points,
    );
    gauges.family(
        "tidemark_task_newest_point_age_seconds",
        "Age of the task's newest backup point",
        ages,
    );
    let by_repository = |f: fn(&RepositoryFigures) -> f64| {
        repositories
            .iter()
            .filter(|(_, _, figures)| figures.readable)
            .map(|(_, name, figures)| (label("repository", name), f(figures)))
            .collect::<Vec<_>>()
    };
    gauges.family(
        "tidemark_repository_up",
        "1 when the repository could be read for these figures, else 0",
        repositories
            .iter()
            .map(|(_, name, f)| (label("repository", name), f64::from(u8::from(f.readable))))
            .collect(),
    );
    gauges.family(
        "tidemark_repository_stored_bytes",
        "Bytes the repository's pack files hold",
        by_repository(|f| f.stored_bytes as f64),
    );
    gauges.family(
        "tidemark_repository_logical_bytes",
        "The sum of every point's size (what restoring all of them would write)",
        by_repository(|f| f.logical_bytes as f64),
    );
    gauges.family(
        "tidemark_repository_packs",
        "Pack files in the repository",
        by_repository(|f| f.packs as f64),
    );
    gauges.family(
        "tidemark_repository_points",
        "Backup points in the repository",
        by_repository(|f| f.points as f64),
    );
    gauges.family(
        "tidemark_repository_dedup_ratio",
        "Logical bytes per unique byte stored",
        by_repository(|f| f.dedup_ratio),
    );
    let jobs = state.jobs.snapshots();
    let running = |drill: bool| {
        jobs.iter()
            .filter(|j| j.phase == JobPhase::Running && j.drill == drill)
            .count() as f64
    };
    let started: Vec<i64> = jobs
        .iter()
        .filter(|j| j.phase == JobPhase::Running)
        .map(|j| j.task_id)
        .collect();
    let queued = tasks
        .iter()
        .filter(|t| t.settings.enabled && !started.contains(&t.id))
        .filter(|t| t.next_run_at.is_some_and(|at| at <= Utc::now()))
        .count() as f64;
    gauges.family(
        "tidemark_jobs_running",
        "Jobs running now, by kind",
        vec![
            (label("kind", "backup"), running(false)),
            (label("kind", "drill"), running(true)),
        ],
    );
    gauges.family(
        "tidemark_jobs_queued",
        "Scheduled backups that are due and not yet running",
        vec![(Vec::new(), queued)],
    );
    let restores = catalog.list_restores().await?;
    gauges.family(
        "tidemark_restores",
        "Restore tasks by state",
        RestoreState::ALL
            .iter()
            .map(|s| {
                let n = restores.iter().filter(|r| r.state == *s).count();
                (label("state", s.as_str()), n as f64)
            })
            .collect(),
    );
    // A gauge, not a counter: deleting a channel deletes its log.
    gauges.family(
        "tidemark_notification_failures",
        "Notifications that failed for good (every attempt), by channel",
        catalog
            .failed_deliveries_by_channel()
            .await?
            .into_iter()
            .map(|(channel, n)| (label("channel", &channel), n as f64))
            .collect(),
    );
    gauges.family(
        "tidemark_notification_channels_failing",
        "Enabled channels whose newest delivery did not arrive",
        vec![(Vec::new(), catalog.failing_channels().await?.len() as f64)],
    );
    let mut text = String::new();
    prometheus_client::encoding::text::encode_registry(&mut text, &registry)
        .map_err(|e| AppError::internal("encoding the metrics", &e))?;
    Ok(text)
}

/// Every repository's figures: from the cache, or read now.
async fn repository_figures(
    state: &AppState,
) -> Result<Vec<(i64, String, RepositoryFigures)>, AppError> {
    let mut all = Vec::new();
    for record in state.catalog.list_repositories().await? {
        let cache = &state.info.repository_cache;
        let figures = match cache.fresh(record.id) {
            Some(figures) => figures,
            None => {
                let access = record.access();
                let read = crate::error::blocking(move || Ok(read_repository(&access))).await?;
                cache.store(record.id, read.clone());
                read
            }
        };
        all.push((record.id, record.name, figures));
    }
    Ok(all)
}

/// Reads one repository; one that cannot be opened or read is not up.
fn read_repository(access: &crate::repo_access::RepoAccess) -> RepositoryFigures {
    let read = || -> Result<RepositoryFigures, tidemark_engine::EngineError> {
        let repo = access.open()?;
        let usage = repo.usage()?;
        let (manifests, _damaged) = repo.points()?;
        let mut tasks: HashMap<String, (u64, i64)> = HashMap::new();
        for manifest in manifests {
            let entry = tasks.entry(manifest.task).or_default();
            entry.0 += 1;
            entry.1 = entry.1.max(manifest.finished_at.timestamp());
        }
        Ok(RepositoryFigures {
            readable: true,
            stored_bytes: usage.stored_bytes,
            logical_bytes: usage.logical_bytes,
            packs: usage.packs,
            points: usage.points,
            dedup_ratio: usage.dedup_ratio(),
            tasks,
        })
    };
    read().unwrap_or_else(|err| {
        tracing::warn!(error = %err, "a repository could not be read for the metrics");
        RepositoryFigures::default()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn label_values_are_escaped_as_the_text_format_wants() {
        assert_eq!(
            super::label("task", "a \"b\" c\\d\ne"),
            [("task".to_owned(), r#"a \"b\" c\\d\ne"#.to_owned())]
        );
    }
}
