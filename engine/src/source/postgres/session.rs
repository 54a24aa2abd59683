//! The restore target's connections, and the optional lock.
//!
//! Normally each piece of work connects anew. Locking sets the database's
//! `ALLOW_CONNECTIONS false`, which refuses every new connection, ours
//! too: so the restore first opens the connections it will need and then
//! works only over those, and the lock is lifted when the restore ends,
//! however it ends.

use std::future::Future;
use std::sync::Mutex;

use sqlx::{Executor, PgConnection};

use super::conn::{pg_error, quote_ident, PgAccess, PgLocation};
use crate::error::{EngineError, Result};

/// Connections the restore holds while the database is locked: one for
/// structure and checks, one per table loaded at a time.
const HELD: usize = 3;

pub struct Sessions {
    at: PgLocation,
    /// A multi-threaded runtime: its driver serves the connections also
    /// while loader threads use them through [`Sessions::handle`].
    rt: tokio::runtime::Runtime,
    held: Mutex<Vec<PgConnection>>,
    /// The connection to the server's `postgres` database that locked the
    /// target one, kept to unlock it.
    locker: Option<PgConnection>,
}

impl Sessions {
    pub fn new(at: PgLocation) -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("tidemark-pg")
            .enable_all()
            .build()
            .map_err(|e| EngineError::io("tokio runtime", e))?;
        Ok(Sessions {
            at,
            rt,
            held: Mutex::new(Vec::new()),
            locker: None,
        })
    }

    pub fn block_on<F: Future>(&self, work: F) -> F::Output {
        self.rt.block_on(work)
    }

    pub fn handle(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    pub fn locked(&self) -> bool {
        self.locker.is_some()
    }

    /// A connection to the target database: a held one while locked.
    pub async fn take(&self) -> Result<PgConnection> {
        if self.locked() {
            let held = self.held.lock().unwrap_or_else(|p| p.into_inner()).pop();
            return held.ok_or_else(|| EngineError::Database {
                what: format!("restore into {}", self.at.display()),
                detail:
                    "the database is locked for this restore and its connections are all in use"
                        .into(),
            });
        }
        let mut conn = self.at.connect().await?;
        // Time bounds and the read-back of time spans are UTC.
        conn.execute("SET TIME ZONE 'UTC'")
            .await
            .map_err(|e| pg_error(&self.at, "connect to", e))?;
        Ok(conn)
    }

    /// Returns a connection from [`Sessions::take`] (closed unless held).
    pub fn give_back(&self, conn: PgConnection) {
        if self.locked() {
            self.held
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(conn);
        }
    }

    /// Runs `work` on a connection to the target database.
    pub fn query<T>(
        &self,
        doing: &str,
        work: impl AsyncFnOnce(&mut PgConnection) -> std::result::Result<T, sqlx::Error>,
    ) -> Result<T> {
        self.rt.block_on(async {
            let mut conn = self.take().await?;
            let result = work(&mut conn)
                .await
                .map_err(|e| pg_error(&self.at, doing, e));
            self.give_back(conn);
            result
        })
    }

    /// Refuses new connections to the (existing) target database until
    /// [`Sessions::unlock`]; returns how many sessions were already open
    /// there (they are not ended).
    pub fn lock(&mut self) -> Result<i64> {
        let admin = self.at.with_database("postgres");
        let database = quote_ident(&self.at.database);
        let opened = self.rt.block_on(async {
            let mut held = Vec::new();
            for _ in 0..HELD {
                held.push(self.take().await?);
            }
            let mut locker = admin.connect().await?;
            let fail = |e| pg_error(&admin, "lock the target database on", e);
            locker
                .execute(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS false").as_str())
                .await
                .map_err(fail)?;
            let others: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name <> 'tidemark'",
            )
            .bind(&self.at.database)
            .fetch_one(&mut locker)
            .await
            .map_err(fail)?;
            Ok::<_, EngineError>((held, locker, others))
        });
        let (held, locker, others) = opened?;
        *self.held.lock().unwrap_or_else(|p| p.into_inner()) = held;
        self.locker = Some(locker);
        Ok(others)
    }

    /// Lets connections in again (a no-op when not locked).
    pub fn unlock(&mut self) -> Result<()> {
        let Some(mut locker) = self.locker.take() else {
            return Ok(());
        };
        let database = quote_ident(&self.at.database);
        let admin = self.at.with_database("postgres");
        self.rt.block_on(async {
            locker
                .execute(format!("ALTER DATABASE {database} ALLOW_CONNECTIONS true").as_str())
                .await
                .map(drop)
                .map_err(|e| pg_error(&admin, "unlock the target database on", e))
        })?;
        self.held.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(())
    }
}

impl Drop for Sessions {
    fn drop(&mut self) {
        // A failed or cancelled restore still lets users back in.
        if let Err(err) = self.unlock() {
            tracing::error!("{err}; run ALTER DATABASE ... ALLOW_CONNECTIONS true by hand");
        }
    }
}
