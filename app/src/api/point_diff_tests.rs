//! Compare points through the console's server function: a second backup
//! after rows were added shows the table changed with both row counts and
//! time spans and the untouched table not at all; a task's first point has
//! nothing to compare with (422, saying so); a point the task does not have
//! is 404.

use super::*;
use crate::api::point_diff::server::diff;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_compares_a_point_with_its_predecessor() {
    let fx = Fixture::new(100).await;
    let first = diff(&fx.state, fx.task_id, None, fx.point.clone())
        .await
        .unwrap_err();
    assert_eq!(first.status(), 422, "{first}");
    assert!(first.to_string().contains("first point"), "{first}");

    Connection::open(fx.path("plant.db"))
        .unwrap()
        .execute(
            "INSERT INTO readings VALUES (1000, '2026-11-03 00:00:00', 'device \"7\"', 1.5)",
            [],
        )
        .unwrap();
    let mut events = fx.state.jobs.subscribe();
    let run = fx
        .state
        .jobs
        .start(fx.task_id, Trigger::Manual, false, 1)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, async {
        while !matches!(events.recv().await, Ok(p) if p.run_id == run.id && p.is_finished()) {}
    })
    .await
    .unwrap();
    let second = fx.state.catalog.run(run.id).await.unwrap().unwrap();
    let second = second.point.unwrap();

    let view = diff(&fx.state, fx.task_id, None, second.clone())
        .await
        .unwrap();
    assert_eq!(
        (view.from.as_str(), view.to.as_str()),
        (fx.point.as_str(), second.as_str())
    );
    assert_eq!((view.added, view.removed, view.changed), (0, 0, 1));
    assert_eq!(view.rows.len(), 1, "{:?}", view.rows);
    let readings = &view.rows[0];
    assert_eq!(readings.name, "readings");
    assert_eq!(
        (readings.rows_before, readings.rows_after),
        (Some(100), Some(101))
    );
    assert!(
        readings
            .span_after
            .as_deref()
            .is_some_and(|s| s.ends_with("2026-11-03 00:00:00")),
        "{readings:?}"
    );
    assert_eq!(readings.differs, ["content"]);

    let missing = diff(&fx.state, fx.task_id, None, "plant_nope".into())
        .await
        .unwrap_err();
    assert_eq!(missing.status(), 404, "{missing}");
}
