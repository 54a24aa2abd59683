//! Errors answer the HTTP status they mean, against the real binary: 401
//! signed out, 403 for a role that may not, 404 for what does not exist,
//! 400 for arguments that do not decode, 409 for a name in use, 422 for a
//! wrong value, 413 for a body over the limit; each body is the error the
//! browser decodes. (`malformed.rs` sends every function malformed input.)

mod support;

use app::error::AppError;
use support::{Client, Server};

const FORM: &str = "application/x-www-form-urlencoded";
/// Larger than the server's body limit (1 MiB).
const OVER_LIMIT: usize = 2 * 1024 * 1024;

fn post(client: &Client, endpoint: &str, fields: &[(&str, &str)]) -> support::Response {
    client.post_api(&format!("/api/{endpoint}"), fields)
}

fn error_of(res: &support::Response) -> AppError {
    serde_json::from_str(&res.body)
        .unwrap_or_else(|e| panic!("not an error ({e}): {} {}", res.status, res.body))
}

#[test]
fn errors_answer_the_status_they_mean() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());

    let anonymous = post(&server, "tasks", &[]);
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(error_of(&anonymous), AppError::Unauthorized);

    server.sign_in_admin();
    let missing = post(&server, "tasks/get", &[("id", "999")]);
    assert_eq!(missing.status, 404, "{}", missing.body);
    assert!(matches!(error_of(&missing), AppError::NotFound(_)));

    let not_a_number = post(&server, "tasks/get", &[("id", "abc")]);
    assert_eq!(not_a_number.status, 400, "{}", not_a_number.body);
    assert!(matches!(error_of(&not_a_number), AppError::BadRequest(_)));

    let no_field = post(&server, "tasks/get", &[]);
    assert_eq!(no_field.status, 400, "{}", no_field.body);

    let operator = [
        ("username", "otto"),
        ("role", "operator"),
        ("password", "otto-initial-password"),
    ];
    let created = post(&server, "users/create", &operator);
    assert_eq!(created.status, 200, "{}", created.body);
    let again = post(&server, "users/create", &operator);
    assert_eq!(again.status, 409, "a name in use: {}", again.body);
    assert!(
        error_of(&again).field("username").is_some(),
        "{}",
        again.body
    );

    let bad_role = post(
        &server,
        "users/create",
        &[
            ("username", "vera"),
            ("role", "emperor"),
            ("password", "vera-initial-password"),
        ],
    );
    assert_eq!(bad_role.status, 422, "{}", bad_role.body);
    assert!(
        error_of(&bad_role).field("role").is_some(),
        "{}",
        bad_role.body
    );

    // A backup task of the demo source into the default repository.
    let task = |name: &str, keep_last: &str| {
        [
            ("form[name]", name.to_owned()),
            ("form[source_id]", "1".to_owned()),
            ("form[repository_id]", "1".to_owned()),
            ("form[content_mode]", "all".to_owned()),
            ("form[schedule_mode]", "manual".to_owned()),
            ("form[policy]", "full-always".to_owned()),
            ("form[keep_last]", keep_last.to_owned()),
            ("form[compression]", "balanced".to_owned()),
            ("form[pack_size_mib]", "16".to_owned()),
            ("form[retry_count]", "0".to_owned()),
            ("form[retry_interval_min]", "1".to_owned()),
        ]
    };
    let save = |fields: &[(&str, String)]| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        post(&server, "tasks/save", &fields)
    };
    let saved = save(&task("nightly", "3"));
    assert_eq!(saved.status, 200, "{}", saved.body);
    let task_id = saved.body.trim().to_owned();
    let same_name = save(&task("nightly", "3"));
    assert_eq!(same_name.status, 409, "a name in use: {}", same_name.body);
    assert!(error_of(&same_name).field("name").is_some());
    let bad_keep = save(&task("weekly", "-1"));
    assert_eq!(bad_keep.status, 422, "{}", bad_keep.body);
    assert!(error_of(&bad_keep).field("keep_last").is_some());
    let no_point = post(
        &server,
        "restores/objects",
        &[("task_id", &task_id), ("point_id", "no-such-point")],
    );
    assert_eq!(no_point.status, 404, "{}", no_point.body);

    let too_large = server.post_raw("/api/tasks", FORM, vec![b'x'; OVER_LIMIT], false);
    assert_eq!(too_large.status, 413, "{}", too_large.body);
    assert_eq!(error_of(&too_large), AppError::TooLarge);

    // An operator, once the first password is changed, may not manage users.
    server.sign_out_locally();
    assert_eq!(server.sign_in("otto", "otto-initial-password").status, 200);
    let changed = post(
        &server,
        "account/password",
        &[
            ("current", "otto-initial-password"),
            ("new", "otto-changed-password"),
            ("repeat", "otto-changed-password"),
        ],
    );
    assert!(changed.status < 400, "{}", changed.body);
    let forbidden = post(&server, "users", &[]);
    assert_eq!(forbidden.status, 403, "{}", forbidden.body);
    assert!(matches!(error_of(&forbidden), AppError::Forbidden(_)));

    server.sign_out_locally();
    let wrong = server.sign_in("admin", "not-the-password");
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(error_of(&wrong).field("password").is_some());
}
