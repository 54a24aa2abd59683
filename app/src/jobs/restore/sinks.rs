//! What a restore job writes to the catalog from its blocking thread:
//! phase changes, the plan's objects (the sub-tasks), and the replay's
//! result of a restore to a second.

use tidemark_engine::restore::RestorePlan;

use super::{run, tracker};
use crate::catalog::{Catalog, RestoreObjectRow};

/// Writes phase changes to the catalog from the blocking thread.
pub(super) struct CatalogPhases {
    pub(super) catalog: Catalog,
    pub(super) restore_id: i64,
    pub(super) attempt: i64,
    pub(super) handle: tokio::runtime::Handle,
}

impl tracker::PhaseSink for CatalogPhases {
    fn phase(&self, phase: &str, done: bool) {
        let written = self.handle.block_on(self.catalog.restore_phase(
            self.restore_id,
            self.attempt,
            phase,
            done,
        ));
        if let Err(err) = written {
            tracing::warn!(restore_id = self.restore_id, error = %err, "could not record a restore phase");
        }
    }
}

/// Records the plan's objects (the sub-tasks) from the blocking thread.
pub(super) struct CatalogPlan {
    pub(super) catalog: Catalog,
    pub(super) restore_id: i64,
    pub(super) handle: tokio::runtime::Handle,
}

impl run::RestoreLog for CatalogPlan {
    fn replayed(&self, result: &crate::model::PitrResult) {
        let written = match serde_json::to_string(result) {
            Ok(json) => self
                .handle
                .block_on(self.catalog.set_restore_pitr_result(self.restore_id, &json)),
            Err(err) => {
                tracing::warn!(restore_id = self.restore_id, error = %err, "could not encode a replay's result");
                return;
            }
        };
        if let Err(err) = written {
            tracing::warn!(restore_id = self.restore_id, error = %err, "could not record a replay's result");
        }
    }

    fn planned(&self, plan: &RestorePlan) {
        let rows: Vec<RestoreObjectRow> = plan
            .objects
            .iter()
            .map(|o| RestoreObjectRow {
                name: o.name.clone(),
                target_name: o.target_name.clone(),
                action: action_name(o.action).into(),
                bytes: i64::try_from(o.size).unwrap_or(i64::MAX),
                rows: o.rows.and_then(|r| i64::try_from(r).ok()),
                state: if o.action == tidemark_engine::restore::Action::Skip {
                    "skipped".into()
                } else {
                    "pending".into()
                },
                error: None,
                check_result: None,
                check_detail: None,
            })
            .collect();
        let written = self.handle.block_on(self.catalog.set_restore_objects(
            self.restore_id,
            &rows,
            plan.bytes,
            plan.rows,
        ));
        if let Err(err) = written {
            tracing::warn!(restore_id = self.restore_id, error = %err, "could not record a restore's objects");
        }
    }
}

/// The catalog's and the pages' name of a planned action.
pub fn action_name(action: tidemark_engine::restore::Action) -> &'static str {
    use tidemark_engine::restore::Action;
    match action {
        Action::Create => "create",
        Action::Overwrite => "overwrite",
        Action::Merge => "load into existing",
        Action::Skip => "skip",
    }
}
