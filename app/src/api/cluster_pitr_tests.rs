//! PostgreSQL cluster tasks through the server side: a cluster source may
//! be continuous, its restores go whole into a new data directory (and may
//! start it on a port), and what the engine refuses (a directory in use, a
//! task without a base backup) answers 409 with the reason, nothing saved.

use super::{restore_form, task_form, Fixture};
use crate::model::{ExtractForm, Role, SourceKind};

const CLUSTER: &str = "postgres-cluster://backup@127.0.0.1:1";

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_task_may_be_continuous_and_restores_into_a_new_data_directory() {
    let f = Fixture::new().await;
    let source = f.source("cluster", SourceKind::PgCluster, CLUSTER).await;
    let task =
        crate::api::tasks::server::save(&f.state, None, task_form("pg", source, true), false)
            .await
            .unwrap();
    let continuous = f.state.catalog.continuous_tasks().await.unwrap();
    assert_eq!(continuous.iter().map(|t| t.id).collect::<Vec<_>>(), [task]);

    // The form offers a new data directory only, below the restore root.
    let choices = crate::api::restores::server::targets(&f.state, task)
        .await
        .unwrap();
    assert!(
        choices.path_allowed && choices.sources.is_empty(),
        "{choices:?}"
    );
    let form = crate::api::restores::server::new_form(&f.state, Some(task), None)
        .await
        .unwrap();
    assert_eq!(form.target_mode, "new");
    assert!(form.target_path.contains("/pg-"), "{}", form.target_path);

    let role = Role::Operator;
    let validate = |form| {
        let state = f.state.clone();
        async move { crate::api::restores::server::validate(&state, &form, true, role).await }
    };
    // The recovering server runs as postgres when the tests run as root:
    // it must be able to enter the directories above the data directory.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(f._dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let dir = f.state.info.data_dir.join("restores");
    std::fs::create_dir_all(&dir).unwrap();
    let mut form = restore_form("r", task, source, "2026-12-01 14:03:26");
    form.target_mode = "new".into();
    form.target_path = dir.join("recovered cluster").display().to_string();
    form.start_port = "15432".into();
    let settings = validate(form.clone()).await.unwrap();
    assert_eq!(settings.start_port, Some(15432));

    // No base backup yet: refused with the reason, nothing stored.
    let refused = crate::api::restores::server::create(&f.state, form.clone(), role)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 409, "{refused:?}");
    assert!(
        refused
            .to_string()
            .contains("no base backup of a PostgreSQL cluster"),
        "{refused}"
    );
    // A directory in use is never recovered into.
    let used = dir.join("in use");
    std::fs::create_dir_all(&used).unwrap();
    std::fs::write(used.join("PG_VERSION"), "16\n").unwrap();
    let mut in_use = form.clone();
    in_use.target_path = used.display().to_string();
    let refused = crate::api::restores::server::create(&f.state, in_use, role)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 409, "{refused:?}");
    assert!(refused.to_string().contains("is not empty"), "{refused}");
    assert_eq!(
        std::fs::read_to_string(used.join("PG_VERSION")).unwrap(),
        "16\n",
        "left as it was"
    );
    assert!(f.state.catalog.list_restores().await.unwrap().is_empty());

    // A cluster is recovered whole, into a path, not into a data source.
    let mut custom = form.clone();
    custom.recovery_method = "point".into();
    custom.point_id = "p1".into();
    custom.objects_mode = "custom".into();
    custom.objects = vec![crate::model::ObjectChoice {
        name: "base.tar".into(),
        selected: true,
        target_name: "base.tar".into(),
        ..Default::default()
    }];
    let settings = validate(custom).await.unwrap();
    let refused = crate::api::restores::server::check(&f.state, &settings, role)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 422, "{refused:?}");
    assert!(
        refused
            .field("objects_mode")
            .unwrap()
            .contains("as a whole"),
        "{refused:?}"
    );
    let mut into_source = form.clone();
    into_source.target_mode = "source".into();
    into_source.target_source_id = source.to_string();
    let refused = validate(into_source).await.unwrap_err();
    assert!(
        refused
            .field("target_source_id")
            .unwrap()
            .contains("new data directory"),
        "{refused:?}"
    );
    let mut low = form;
    low.start_port = "80".into();
    let refused = validate(low).await.unwrap_err();
    assert!(refused.field("start_port").is_some(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovered_clusters_database_is_extracted_into_a_postgresql_source_only() {
    let f = Fixture::new().await;
    let source = f.source("cluster", SourceKind::PgCluster, CLUSTER).await;
    let shop = f
        .source(
            "shop",
            SourceKind::Postgres,
            "postgres://app@127.0.0.1:1/shop",
        )
        .await;
    let mariadb = f.unreachable_mariadb("mariadb").await;
    let task =
        crate::api::tasks::server::save(&f.state, None, task_form("pg", source, true), false)
            .await
            .unwrap();
    // The form offers the PostgreSQL sources to extract into.
    let choices = crate::api::restores::server::targets(&f.state, task)
        .await
        .unwrap();
    assert_eq!(
        choices
            .extract_sources
            .iter()
            .map(|s| s.0)
            .collect::<Vec<_>>(),
        [shop]
    );
    let role = Role::Operator;
    let validate = |form| {
        let state = f.state.clone();
        async move { crate::api::restores::server::validate(&state, &form, true, role).await }
    };
    let mut form = restore_form("r", task, source, "2026-12-01 14:03:26");
    form.target_mode = "new".into();
    form.target_path = f
        .state
        .info
        .data_dir
        .join("restores/recovered")
        .display()
        .to_string();
    form.extract = ExtractForm {
        source_id: shop.to_string(),
        database: "shop".into(),
        tables: "public.order items=public.order items at T".into(),
        remove_cluster: true,
    };
    let settings = validate(form.clone()).await.unwrap();
    let extract = settings.extract.clone().unwrap();
    assert_eq!(
        extract.tables,
        [(
            "public.order items".to_owned(),
            "public.order items at T".to_owned()
        )]
    );
    // The settings come back to the form as they were typed.
    assert_eq!(settings.to_form().extract, form.extract);
    // Not into another kind of source.
    let mut other = form.clone();
    other.extract.source_id = mariadb.to_string();
    let refused = validate(other).await.unwrap_err();
    assert!(
        refused
            .field("extract_source_id")
            .unwrap()
            .contains("PostgreSQL data source"),
        "{refused:?}"
    );
    // A cluster left running on a port is not removed as well.
    let mut both = form.clone();
    both.start_port = "15432".into();
    let refused = validate(both).await.unwrap_err();
    assert!(refused.field("extract_remove").is_some(), "{refused:?}");
    let mut unnamed = form.clone();
    unnamed.extract.database = String::new();
    let refused = validate(unnamed).await.unwrap_err();
    assert!(refused.field("extract_database").is_some(), "{refused:?}");

    // Only a cluster has databases to extract.
    let plain =
        crate::api::tasks::server::save(&f.state, None, task_form("plain", mariadb, false), false)
            .await
            .unwrap();
    let mut not_cluster = restore_form("m", plain, mariadb, "2026-12-01 14:03:26");
    not_cluster.extract = form.extract.clone();
    let settings = validate(not_cluster).await.unwrap();
    let refused = crate::api::restores::server::check(&f.state, &settings, role)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 422, "{refused:?}");
    assert!(refused.field("extract_source_id").is_some(), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_a_cluster_restore_starts_on_a_port() {
    let f = Fixture::new().await;
    let shop = f.unreachable_mariadb("shop").await;
    let task =
        crate::api::tasks::server::save(&f.state, None, task_form("shop", shop, false), false)
            .await
            .unwrap();
    let mut form = restore_form("r", task, shop, "2026-12-01 14:03:26");
    form.start_port = "15432".into();
    let settings = crate::api::restores::server::validate(&f.state, &form, true, Role::Operator)
        .await
        .unwrap();
    let refused = crate::api::restores::server::check(&f.state, &settings, Role::Operator)
        .await
        .unwrap_err();
    assert_eq!(refused.status(), 422, "{refused:?}");
    assert!(refused.field("start_port").is_some(), "{refused:?}");
}
