//! Renders the engine's progress: bars on a terminal, log lines otherwise,
//! nothing with `--json` (standard output is then for the result only).

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tidemark_engine::Progress;

pub enum CliProgress {
    Bar(ProgressBar),
    Log(LogProgress),
    Quiet,
}

impl CliProgress {
    pub fn new(json: bool) -> Self {
        if json {
            CliProgress::Quiet
        } else if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{msg:>14} [{bar:32}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            CliProgress::Bar(bar)
        } else {
            CliProgress::Log(LogProgress::default())
        }
    }
}

impl Progress for CliProgress {
    fn set_title(&self, title: &str) {
        match self {
            CliProgress::Bar(bar) => bar.set_message(title.to_owned()),
            CliProgress::Log(log) => log.set_title(title),
            CliProgress::Quiet => {}
        }
    }

    fn set_length(&self, bytes: u64, items: u64) {
        match self {
            CliProgress::Bar(bar) => {
                bar.set_length(bytes);
                bar.set_position(0);
            }
            CliProgress::Log(log) => log.set_length(bytes, items),
            CliProgress::Quiet => {}
        }
    }

    fn inc(&self, bytes: u64, items: u64) {
        match self {
            CliProgress::Bar(bar) => bar.inc(bytes),
            CliProgress::Log(log) => log.inc(bytes, items),
            CliProgress::Quiet => {}
        }
    }

    fn finish(&self) {
        match self {
            CliProgress::Bar(bar) => bar.finish_and_clear(),
            CliProgress::Log(log) => log.finish(),
            CliProgress::Quiet => {}
        }
    }
}

/// A line to standard error every few seconds, for logs and CI.
#[derive(Default)]
pub struct LogProgress {
    title: Mutex<String>,
    total_bytes: AtomicU64,
    total_items: AtomicU64,
    bytes: AtomicU64,
    items: AtomicU64,
    started: Mutex<Option<Instant>>,
    last: Mutex<Option<Instant>>,
}

const LOG_EVERY: Duration = Duration::from_secs(5);

impl LogProgress {
    fn set_title(&self, title: &str) {
        if let Ok(mut t) = self.title.lock() {
            *t = title.to_owned();
        }
    }

    fn set_length(&self, bytes: u64, items: u64) {
        self.total_bytes.store(bytes, Ordering::Relaxed);
        self.total_items.store(items, Ordering::Relaxed);
        self.bytes.store(0, Ordering::Relaxed);
        self.items.store(0, Ordering::Relaxed);
        let now = Some(Instant::now());
        if let (Ok(mut s), Ok(mut l)) = (self.started.lock(), self.last.lock()) {
            *s = now;
            *l = now;
        }
    }

    fn inc(&self, bytes: u64, items: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.items.fetch_add(items, Ordering::Relaxed);
        let due = match self.last.lock() {
            Ok(mut last) if last.is_none_or(|t| t.elapsed() >= LOG_EVERY) => {
                *last = Some(Instant::now());
                true
            }
            _ => false,
        };
        if due {
            self.log();
        }
    }

    fn finish(&self) {
        self.log();
    }

    fn log(&self) {
        let title = self.title.lock().map(|t| t.clone()).unwrap_or_default();
        let (done, total) = (
            self.bytes.load(Ordering::Relaxed),
            self.total_bytes.load(Ordering::Relaxed),
        );
        let (items, total_items) = (
            self.items.load(Ordering::Relaxed),
            self.total_items.load(Ordering::Relaxed),
        );
        let secs = self
            .started
            .lock()
            .ok()
            .and_then(|s| s.map(|s| s.elapsed().as_secs_f64()))
            .unwrap_or(0.0);
        let rate = if secs > 0.0 {
            (done as f64 / secs) as u64
        } else {
            0
        };
        let percent = (done * 100).checked_div(total).unwrap_or(100);
        eprintln!(
            "{title}: {} of {} ({percent}%), {items} of {total_items} objects, {}/s",
            HumanBytes(done),
            HumanBytes(total),
            HumanBytes(rate)
        );
    }
}
