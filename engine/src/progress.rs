//! The one progress abstraction of the engine, and cancellation.
//!
//! Commands report through [`Progress`]; the CLI renders it as bars or log
//! lines, the server streams it to the browser. Commands check a
//! [`CancelToken`] between chunks.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{EngineError, Result};

/// Receives progress of one command. Implementations must be cheap: `inc`
/// is called once per chunk.
pub trait Progress: Send + Sync {
    /// Names the current phase, e.g. "scanning" or "backing up".
    fn set_title(&self, title: &str);
    /// The total expected, in bytes and items (files, tables, chunks).
    fn set_length(&self, bytes: u64, items: u64);
    /// Work done since the last call.
    fn inc(&self, bytes: u64, items: u64);
    /// The phase is complete.
    fn finish(&self);
    /// A restore phase starts (`done == false`) or ends (`done == true`).
    /// Downloading and loading overlap: chunks stream from one to the other.
    fn phase(&self, _phase: Phase, _done: bool) {}
    /// Bytes read from the repository and checked (restore's download side).
    fn fetched(&self, _bytes: u64) {}
    /// Rows loaded into a database target, counted as each table commits.
    fn rows(&self, _rows: u64) {}
    /// A restored object is done (`None`) or failed, with the reason.
    fn object(&self, _name: &str, _error: Option<&str>) {}
}

/// The named phases of a restore, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// The plan is checked again and the target made ready.
    Preparing,
    /// Chunks are read from the repository, decrypted and checked.
    Downloading,
    /// Objects are written into the target.
    Loading,
    /// The target makes the restored objects visible at once.
    Committing,
    /// The target is read back and compared with the manifest.
    Verifying,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Preparing,
        Phase::Downloading,
        Phase::Loading,
        Phase::Committing,
        Phase::Verifying,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Preparing => "preparing",
            Phase::Downloading => "downloading",
            Phase::Loading => "loading",
            Phase::Committing => "committing",
            Phase::Verifying => "verifying",
        }
    }
}

/// Discards progress.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn set_title(&self, _: &str) {}
    fn set_length(&self, _: u64, _: u64) {}
    fn inc(&self, _: u64, _: u64) {}
    fn finish(&self) {}
}

/// Shared flag that asks a running command to stop at the next chunk.
#[derive(Debug, Default, Clone)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// `Err(Cancelled)` once cancellation was asked for.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(EngineError::Cancelled)
        } else {
            Ok(())
        }
    }
}
