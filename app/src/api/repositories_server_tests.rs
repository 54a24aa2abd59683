//! The repository functions against a real catalog (sealing with a key,
//! as the server does) and real engine repositories on disk: encrypted by
//! default, plain only when chosen, existing ones with their passphrase,
//! a backup and a restore through the job path, rotation and export, and
//! no passphrase in any answer or stored in plain text.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tidemark_engine::{EngineError, RepoLocation, Repository};

use super::super::RepositorySummary;
use super::*;
use crate::auth::secrets::Secrets;
use crate::catalog::{Catalog, NewSource, Trigger};
use crate::model::{Role, SourceKind, TaskForm};

const WAIT: Duration = Duration::from_secs(60);
const ADMIN_PASSWORD: &str = "admin password for tests";

struct Fixture {
    dir: tempfile::TempDir,
    state: AppState,
    admin: Actor,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let catalog = Catalog::open(&url)
            .await
            .unwrap()
            .with_secrets(Arc::new(Secrets::ephemeral()));
        let hash = crate::api::auth::server::hash_password(ADMIN_PASSWORD.into())
            .await
            .unwrap();
        let user = catalog
            .insert_user("admin", &hash, Role::Admin, false)
            .await
            .unwrap();
        let admin = Actor {
            id: user.id,
            username: user.username,
            role: Role::Admin,
            must_change_password: false,
            address: None,
            via_token: false,
        };
        let state = AppState::for_tests(catalog, dir.path());
        Fixture { dir, state, admin }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn form(&self, name: &str, encryption: Encryption, passphrase: &str) -> RepositoryForm {
        RepositoryForm {
            name: name.into(),
            location: self.path(name).display().to_string(),
            encryption: encryption.as_str().into(),
            passphrase: passphrase.into(),
            repeat: passphrase.into(),
            ..RepositoryForm::default()
        }
    }

    /// Every answer a viewer gets about the repositories, as JSON.
    async fn answers(&self) -> String {
        let mut out = String::new();
        for record in self.state.catalog.list_repositories().await.unwrap() {
            let summary: RepositorySummary = record.clone().into();
            out.push_str(&serde_json::to_string(&summary).unwrap());
            out.push_str(&format!("{record:?}"));
            if let Ok(usage) = usage(&self.state, record.id).await {
                out.push_str(&serde_json::to_string(&usage).unwrap());
            }
        }
        let listed = crate::api::tasks::server::list_tasks(&self.state)
            .await
            .unwrap();
        out.push_str(&serde_json::to_string(&listed).unwrap());
        out
    }

    /// The catalog file's bytes (with its write-ahead log).
    fn stored(&self) -> Vec<u8> {
        let mut bytes = std::fs::read(self.path("catalog.db")).unwrap();
        bytes.extend(std::fs::read(self.path("catalog.db-wal")).unwrap_or_default());
        bytes
    }
}

fn open(path: &std::path::Path, passphrase: Option<&str>) -> Result<Repository, EngineError> {
    tokio::task::block_in_place(|| {
        Repository::open(&RepoLocation::Local(path.to_owned()), passphrase)
    })
}

fn field_of(err: &AppError) -> Vec<String> {
    match err {
        AppError::Validation(errors) => errors.iter().map(|e| e.field.clone()).collect(),
        AppError::Invalid { field, .. } => vec![field.clone()],
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[path = "repositories_server_job_tests.rs"]
mod job_path;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_repository_is_encrypted_with_a_generated_or_given_passphrase() {
    let fx = Fixture::new().await;
    let generated = create(&fx.state, fx.form("gen", Encryption::Generate, ""))
        .await
        .unwrap();
    let passphrase = generated.passphrase.clone().expect("stored");
    assert!(matches!(
        open(&fx.path("gen"), None),
        Err(EngineError::PassphraseRequired { .. })
    ));
    assert!(open(&fx.path("gen"), Some(&passphrase))
        .unwrap()
        .is_encrypted());

    const GIVEN: &str = "Given-Passphrase-31337";
    let given = create(&fx.state, fx.form("given", Encryption::Passphrase, GIVEN))
        .await
        .unwrap();
    assert!(open(&fx.path("given"), Some(GIVEN)).unwrap().is_encrypted());
    let summary: RepositorySummary = given.into();
    assert!(summary.encrypted);

    // The passphrases are sealed at rest and in no answer.
    let stored = fx.stored();
    let answers = fx.answers().await;
    for secret in [passphrase.as_str(), GIVEN] {
        assert!(!contains(&stored, secret), "stored in plain text");
        assert!(!answers.contains(secret), "an answer holds it: {answers}");
    }
    assert!(answers.contains("\"encrypted\":true"), "{answers}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_passphrase_is_checked_and_nothing_is_created_on_a_mistake() {
    let fx = Fixture::new().await;
    let mut short = fx.form("short", Encryption::Passphrase, "short");
    short.name = String::new();
    let err = create(&fx.state, short).await.unwrap_err();
    assert_eq!(field_of(&err), ["name"]);
    let short = fx.form("short", Encryption::Passphrase, "short");
    let err = create(&fx.state, short).await.unwrap_err();
    assert_eq!(field_of(&err), ["passphrase"]);
    let empty = fx.form("empty", Encryption::Passphrase, "");
    assert_eq!(
        field_of(&create(&fx.state, empty).await.unwrap_err()),
        ["passphrase"]
    );

    let mut differ = fx.form("differ", Encryption::Passphrase, "Long-Enough-Passphrase");
    differ.repeat = "Long-Enough-Passphrasf".into();
    let err = create(&fx.state, differ).await.unwrap_err();
    assert_eq!(field_of(&err), ["repeat"]);

    let mut unknown = fx.form("unknown", Encryption::Generate, "");
    unknown.encryption = "rot13".into();
    assert_eq!(
        field_of(&create(&fx.state, unknown).await.unwrap_err()),
        ["encryption"]
    );

    assert_eq!(fx.state.catalog.count_repositories().await.unwrap(), 0);
    for refused in ["short", "differ", "unknown"] {
        assert!(!fx.path(refused).exists(), "{refused} was created");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_repository_only_by_explicit_choice_and_an_existing_plain_one_as_it_is() {
    let fx = Fixture::new().await;
    let plain = create(&fx.state, fx.form("plain", Encryption::None, ""))
        .await
        .unwrap();
    assert!(plain.passphrase.is_none());
    assert!(!open(&fx.path("plain"), None).unwrap().is_encrypted());

    // An existing plain repository (the CLI's `repo init`): added without
    // a passphrase, never "encrypted" by a form that asked for it.
    tokio::task::block_in_place(|| {
        Repository::init(&RepoLocation::Local(fx.path("cli-plain")), None).unwrap()
    });
    let err = create(&fx.state, fx.form("cli-plain", Encryption::Generate, ""))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), ["encryption"]);
    assert!(
        err.to_string().contains("cannot be encrypted afterwards"),
        "{err}"
    );
    let added = create(&fx.state, fx.form("cli-plain", Encryption::None, ""))
        .await
        .unwrap();
    assert!(added.passphrase.is_none());
    assert_eq!(fx.state.catalog.count_repositories().await.unwrap(), 2);
    assert!(!usage(&fx.state, added.id).await.unwrap().encrypted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_encrypted_repository_is_added_only_with_its_passphrase() {
    let fx = Fixture::new().await;
    // Shorter than the console asks of new ones: the CLI allows it.
    const RIGHT: &str = "cli-pw-7";
    tokio::task::block_in_place(|| {
        Repository::init(&RepoLocation::Local(fx.path("cli")), Some(RIGHT)).unwrap()
    });
    let err = create(&fx.state, fx.form("cli", Encryption::None, ""))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), ["encryption"]);
    let mut wrong = fx.form("cli", Encryption::Passphrase, "not the passphrase");
    wrong.repeat = String::new();
    let err = create(&fx.state, wrong).await.unwrap_err();
    assert!(
        matches!(&err, AppError::Invalid { field, .. } if field == "passphrase"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("not the passphrase of the encrypted repository"),
        "{err}"
    );
    assert_eq!(
        fx.state.catalog.count_repositories().await.unwrap(),
        0,
        "nothing stored"
    );

    let mut right = fx.form("cli", Encryption::Passphrase, RIGHT);
    right.repeat = String::new(); // an existing repository needs no confirmation
    let added = create(&fx.state, right).await.unwrap();
    let usage = usage(&fx.state, added.id).await.unwrap();
    assert!(usage.encrypted);
    assert!(!fx.answers().await.contains(RIGHT));
    assert!(!contains(&fx.stored(), RIGHT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_without_its_passphrase_says_so_and_is_unlocked_with_the_right_one() {
    let fx = Fixture::new().await;
    const RIGHT: &str = "locked-repo-passphrase";
    let path = fx.path("locked");
    tokio::task::block_in_place(|| {
        Repository::init(&RepoLocation::Local(path.clone()), Some(RIGHT)).unwrap()
    });
    // Registered before the console kept passphrases.
    let record = fx
        .state
        .catalog
        .insert_repository("locked", "local", path.to_str().unwrap(), None)
        .await
        .unwrap();
    let err = usage(&fx.state, record.id).await.unwrap_err();
    assert!(
        err.field("passphrase")
            .is_some_and(|m| m.contains("unlocks it")),
        "{err:?}"
    );
    let err = unlock(&fx.state, record.id, "wrong one").await.unwrap_err();
    assert_eq!(field_of(&err), ["passphrase"]);
    unlock(&fx.state, record.id, RIGHT).await.unwrap();
    assert!(usage(&fx.state, record.id).await.unwrap().encrypted);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_stopped_halfway_still_opens_and_an_aborted_one_keeps_the_passphrase() {
    let fx = Fixture::new().await;
    let repo = create(&fx.state, fx.form("half", Encryption::Generate, ""))
        .await
        .unwrap();
    let current = repo.passphrase.clone().unwrap();
    // The catalog took the new passphrase, the engine never re-wrapped.
    assert!(fx
        .state
        .catalog
        .begin_passphrase_change(repo.id, "never-applied-passphrase")
        .await
        .unwrap());
    let halfway = fx.state.catalog.repository(repo.id).await.unwrap().unwrap();
    assert!(tokio::task::block_in_place(|| halfway.access().open()).is_ok());
    fx.state
        .catalog
        .abort_passphrase_change(repo.id)
        .await
        .unwrap();
    let back = fx.state.catalog.repository(repo.id).await.unwrap().unwrap();
    assert_eq!(back.passphrase.as_deref(), Some(current.as_str()));

    // A plain repository has no passphrase to change.
    let plain = create(&fx.state, fx.form("plain", Encryption::None, ""))
        .await
        .unwrap();
    let err = change_passphrase(&fx.state, plain.id, "generate", "", "")
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Conflict(_)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_needs_the_admins_password_and_is_recorded() {
    let fx = Fixture::new().await;
    let repo = create(&fx.state, fx.form("exp", Encryption::Generate, ""))
        .await
        .unwrap();
    let err = export(&fx.state, &fx.admin, repo.id, "wrong")
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), ["password"]);
    let unexported = fx.state.catalog.repository(repo.id).await.unwrap().unwrap();
    assert!(unexported.passphrase_exported_at.is_none());

    let exported = export(&fx.state, &fx.admin, repo.id, ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(Some(exported.passphrase.clone()), repo.passphrase);
    assert!(!format!("{exported:?}").contains(&exported.passphrase));
    let summary: RepositorySummary = fx
        .state
        .catalog
        .repository(repo.id)
        .await
        .unwrap()
        .unwrap()
        .into();
    assert!(summary.passphrase_exported_at.is_some());
    assert_eq!(summary.passphrase_exported_by.as_deref(), Some("admin"));
    // A new passphrase has not been exported yet.
    change_passphrase(&fx.state, repo.id, "generate", "", "")
        .await
        .unwrap();
    let rotated: RepositorySummary = fx
        .state
        .catalog
        .repository(repo.id)
        .await
        .unwrap()
        .unwrap()
        .into();
    assert!(rotated.passphrase_exported_at.is_none());
}
