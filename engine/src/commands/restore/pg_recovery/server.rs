//! Running the server's own recovery on the unpacked base: a private
//! socket and `hba_file`, WAL from the repository through `wal-get`, the
//! stop the plan resolved, promotion; then a clean stop, or a start on the
//! administrator's port.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::super::wal_get::WalService;
use super::{PgRecoveryOptions, PgRecoveryPlan, StopAt};
use crate::error::{EngineError, Result};
use crate::progress::{CancelToken, Progress};
use crate::repo::Repository;
use crate::source::postgres::binaries::{is_root, server_command, PgBinaries};

pub(super) type Recovered = (Option<String>, Option<String>, Option<u32>, u64, f64);

/// Runs the server's recovery to the plan's stop, on a private socket, and
/// stops it cleanly once it is promoted.
pub(super) fn recover(
    repo: &Repository,
    plan: &PgRecoveryPlan,
    options: &PgRecoveryOptions,
    work: &Path,
    progress: &dyn Progress,
    cancel: &CancelToken,
) -> Result<Recovered> {
    let started = Instant::now();
    let data = &plan.data_dir;
    let socket = work.join("wal.sock");
    let hba = work.join("pg_hba.conf");
    let log = work.join("recovery.log");
    // Only this machine's server user, through a socket in a private
    // directory, during the recovery.
    std::fs::write(&hba, "local all all trust\n").map_err(|e| EngineError::io(&hba, e))?;
    let signal = data.join("recovery.signal");
    std::fs::write(&signal, "").map_err(|e| EngineError::io(&signal, e))?;
    let conf = data.join("postgresql.conf");
    if !conf.exists() {
        // Packaged clusters keep their configuration outside the data directory.
        std::fs::write(
            &conf,
            "# written by tidemark: the base backup held no postgresql.conf\n",
        )
        .map_err(|e| EngineError::io(&conf, e))?;
        tracing::info!("the base backup held no postgresql.conf; an empty one was written");
    }
    let listener = WalService::bind(&socket)?;
    if is_root() {
        let out = std::process::Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(work)
            .arg(data)
            .output()
            .map_err(|e| EngineError::io("chown", e))?;
        if !out.status.success() {
            return Err(EngineError::io(
                work,
                std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_owned()),
            ));
        }
    }
    let quote = |p: &Path| p.display().to_string().replace('\'', "''");
    let restore_command = format!(
        "'{}' wal-get --socket '{}' %f %p",
        quote(&options.wal_get),
        quote(&socket)
    );
    let mut settings = vec![
        ("restore_command".to_owned(), restore_command),
        ("recovery_target_timeline".into(), plan.timeline.to_string()),
        ("recovery_target_action".into(), "promote".into()),
        ("hot_standby".into(), "off".into()),
        ("primary_conninfo".into(), String::new()),
    ];
    settings.extend(private_settings(work));
    match &plan.stop {
        StopAt::Before { lsn } => {
            settings.push(("recovery_target_lsn".into(), lsn.clone()));
            settings.push(("recovery_target_inclusive".into(), "off".into()));
        }
        StopAt::After { lsn } => {
            settings.push(("recovery_target_lsn".into(), lsn.clone()));
            settings.push(("recovery_target_inclusive".into(), "on".into()));
        }
        StopAt::Consistent => settings.push(("recovery_target".into(), "immediate".into())),
    }
    let port = crate::source::postgres::cluster::free_port()?;
    let stop = AtomicBool::new(false);
    let served = AtomicU64::new(0);
    let result = std::thread::scope(|scope| {
        let service = WalService {
            repo,
            task: &plan.task,
            listener,
            stop: &stop,
            served: &served,
        };
        scope.spawn(move || service.run());
        let outcome = (|| {
            let mut child = spawn_server(&plan.bin, data, port, &settings, &log)?;
            progress.set_title(&format!("replaying WAL to {}", plan.to));
            let waited = wait_promoted(&mut child, &log, options.time_limit, cancel);
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Err(err) = waited {
                stop_server(&plan.bin, data, "immediate");
                let _ = child.kill();
                let _ = child.wait();
                return Err(err);
            }
            // A clean shutdown: the recovered cluster starts without replay.
            // (pg_ctl, as the server's user: a signal to our child would
            // reach `runuser`, not the server, when running as root.)
            stop_server(&plan.bin, data, "fast");
            let _ = child.wait();
            Ok(text)
        })();
        stop.store(true, Ordering::Relaxed);
        outcome
    });
    let text = result?;
    let line_after = |marker: &str| {
        text.lines().find(|l| l.contains(marker)).and_then(|l| {
            l.split_once(marker)
                .map(|(_, rest)| format!("{marker}{rest}"))
        })
    };
    let stopped = line_after("recovery stopping");
    let last_transaction = line_after("last completed transaction was at log time");
    let new_timeline = text
        .lines()
        .find_map(|l| l.split_once("selected new timeline ID: "))
        .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok());
    // The server must say it stopped where the plan said.
    let expected = match &plan.stop {
        StopAt::Before { lsn } => Some(format!(
            "recovery stopping before WAL location (LSN) \"{lsn}\""
        )),
        StopAt::After { lsn } => Some(format!(
            "recovery stopping after WAL location (LSN) \"{lsn}\""
        )),
        StopAt::Consistent => None,
    };
    if let Some(expected) = expected {
        if stopped.as_deref() != Some(expected.as_str()) {
            return Err(EngineError::RestoreFailed {
                object: plan.data_dir.display().to_string(),
                message: format!(
                    "the server's recovery did not stop where planned ({expected}); it said: {}",
                    stopped.unwrap_or_else(|| "nothing about where it stopped".into())
                ),
            });
        }
    }
    let _ = std::fs::remove_file(data.join("postmaster.opts"));
    Ok((
        stopped,
        last_transaction,
        new_timeline,
        served.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64(),
    ))
}

/// Settings that keep a server to this machine's server user, through a
/// socket in the private directory `work` (whose `pg_hba.conf` trusts
/// only local connections), with nothing sent elsewhere.
fn private_settings(work: &Path) -> Vec<(String, String)> {
    vec![
        (
            "hba_file".into(),
            work.join("pg_hba.conf").display().to_string(),
        ),
        ("listen_addresses".into(), String::new()),
        ("unix_socket_directories".into(), work.display().to_string()),
        ("archive_mode".into(), "off".into()),
        ("ssl".into(), "off".into()),
        ("logging_collector".into(), "off".into()),
    ]
}

/// The server on `data` as a child, its output in `log`.
fn spawn_server(
    bin: &PgBinaries,
    data: &Path,
    port: u16,
    settings: &[(String, String)],
    log: &Path,
) -> Result<std::process::Child> {
    let mut cmd = server_command(&bin.bin.join("postgres"));
    cmd.arg("-D").arg(data).arg("-p").arg(port.to_string());
    for (name, value) in settings {
        cmd.arg("-c").arg(format!("{name}={value}"));
    }
    let logfile = std::fs::File::create(log).map_err(|e| EngineError::io(log, e))?;
    let errfile = logfile.try_clone().map_err(|e| EngineError::io(log, e))?;
    cmd.stdin(std::process::Stdio::null())
        .stdout(logfile)
        .stderr(errfile)
        .spawn()
        .map_err(|e| EngineError::io(bin.bin.join("postgres"), e))
}

/// The recovered cluster, started again on the private socket of `work`
/// (the recovery's): only this process reaches it while it runs.
pub(super) struct PrivateServer<'a> {
    bin: &'a PgBinaries,
    data: &'a Path,
    child: std::process::Child,
    pub port: u16,
}

impl<'a> PrivateServer<'a> {
    pub fn start(
        bin: &'a PgBinaries,
        data: &'a Path,
        work: &Path,
        cancel: &CancelToken,
    ) -> Result<Self> {
        let port = crate::source::postgres::cluster::free_port()?;
        let log = work.join("extract.log");
        let mut child = spawn_server(bin, data, port, &private_settings(work), &log)?;
        if let Err(err) = wait_promoted(&mut child, &log, Duration::from_secs(120), cancel) {
            stop_server(bin, data, "immediate");
            let _ = child.kill();
            let _ = child.wait();
            return Err(err);
        }
        Ok(PrivateServer {
            bin,
            data,
            child,
            port,
        })
    }
}

impl Drop for PrivateServer<'_> {
    /// A clean stop, whatever the extraction's outcome.
    fn drop(&mut self) {
        stop_server(self.bin, self.data, "fast");
        let _ = self.child.wait();
    }
}

/// Waits for the end of recovery (the server accepts connections once it
/// is promoted: `hot_standby` is off); a server that stops first fails
/// with its last words.
fn wait_promoted(
    child: &mut std::process::Child,
    log: &Path,
    limit: Duration,
    cancel: &CancelToken,
) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("database system is ready to accept connections") {
            return Ok(());
        }
        let last_words = || {
            text.lines()
                .rev()
                .find(|l| l.contains("FATAL") || l.contains("PANIC") || l.contains("ERROR"))
                .unwrap_or("no message")
                .to_owned()
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Err(EngineError::RestoreFailed {
                object: "recovery".into(),
                message: format!(
                    "the server stopped during recovery ({status}): {}",
                    last_words()
                ),
            });
        }
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        if Instant::now() > deadline {
            return Err(EngineError::RestoreFailed {
                object: "recovery".into(),
                message: format!("recovery took longer than {} s", limit.as_secs()),
            });
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub(super) fn stop_server(bin: &PgBinaries, data: &Path, mode: &str) {
    if data.join("postmaster.pid").exists() {
        let _ = server_command(&bin.bin.join("pg_ctl"))
            .arg("-D")
            .arg(data)
            .args(["-m", mode, "-w", "stop"])
            .output();
    }
}

/// Starts the recovered cluster with its own settings on `port`.
pub(super) fn start_on_port(bin: &PgBinaries, data: &Path, port: u16) -> Result<()> {
    let log = data.join("tidemark-start.log");
    let out = server_command(&bin.bin.join("pg_ctl"))
        .arg("-D")
        .arg(data)
        .arg("-l")
        .arg(&log)
        .arg("-o")
        .arg(format!("-p {port}"))
        .args(["-w", "start"])
        .output()
        .map_err(|e| EngineError::io(bin.bin.join("pg_ctl"), e))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EngineError::Database {
            what: format!("start the recovered cluster on port {port}"),
            detail: std::fs::read_to_string(&log)
                .unwrap_or_else(|_| String::from_utf8_lossy(&out.stderr).into_owned())
                .lines()
                .last()
                .unwrap_or_default()
                .to_owned(),
        })
    }
}
