//! Malformed requests to every server function, against the real binary:
//! undecodable bodies, missing fields, wrong types, oversized values and
//! ids that do not exist answer 4xx with an error the browser can decode,
//! never 5xx, and are not logged as errors. A few answers are checked for
//! their exact status.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use app::error::AppError;
use support::{Client, Server};

/// What a server function argument is, for the wrong values to send.
#[derive(Clone, Copy)]
enum Arg {
    /// An id (i64) that exists nowhere.
    Id,
    OptId,
    /// A page number (u32).
    Count,
    Flag,
    Text,
    OptText,
    /// A form struct with these fields (text, unless named in `FLAGS`).
    Form(&'static [&'static str]),
}
use Arg::*;

const SOURCE_FORM: &[&str] = &["name", "kind", "location", "description", "password"];
const TASK_FORM: &[&str] = &[
    "name",
    "source_id",
    "repository_id",
    "content_mode",
    "content_objects",
    "content_parent",
    "content_regex",
    "schedule_mode",
    "first_start",
    "period_value",
    "period_unit",
    "policy",
    "full_every_n",
    "keep_last",
    "compression",
    "pack_size_mib",
    "retry_count",
    "retry_interval_min",
    "enabled",
    "watermark",
];
const RESTORE_FORM: &[&str] = &[
    "name",
    "task_id",
    "point_id",
    "objects_mode",
    "objects",
    "target_mode",
    "target_path",
    "target_source_id",
    "force",
    "structure",
    "data",
    "lock",
    "verify",
    "timeout_min",
];

/// An argument: its name, what it is, and a harmless value.
type Param = (&'static str, Arg, &'static str);

/// Every server function's arguments, each with a value that changes
/// nothing (ids that do not exist, names left empty, a kind that is none).
/// The test checks this list names exactly the registered functions.
const SIGNATURES: &[(&str, &[Param])] = &[
    (
        "login",
        &[
            ("username", Text, "nobody"),
            ("password", Text, "wrong-password"),
            ("next", OptText, "/"),
        ],
    ),
    ("logout", &[]),
    ("me", &[]),
    (
        "account/password",
        &[
            ("current", Text, "wrong-current-password"),
            ("new", Text, "new-password-1"),
            ("repeat", Text, "new-password-1"),
        ],
    ),
    ("overview", &[]),
    ("sources", &[]),
    (
        "sources/save",
        &[("id", OptId, "999"), ("form", Form(SOURCE_FORM), "")],
    ),
    ("sources/delete", &[("id", Id, "999")]),
    (
        "sources/test",
        &[("id", OptId, "999"), ("form", Form(SOURCE_FORM), "")],
    ),
    ("sources/objects", &[("source_id", Id, "999")]),
    ("sources/preview", &[("form", Form(TASK_FORM), "")]),
    ("repositories", &[]),
    (
        "repositories/create",
        &[("name", Text, ""), ("location", Text, "")],
    ),
    ("repositories/usage", &[("id", Id, "999")]),
    (
        "repositories/verify",
        &[("id", Id, "999"), ("read_data", Flag, "false")],
    ),
    (
        "runs",
        &[
            ("task_id", Id, "999"),
            ("state", OptText, ""),
            ("page", Count, "1"),
        ],
    ),
    ("runs/get", &[("id", Id, "999")]),
    ("jobs", &[]),
    ("tasks", &[]),
    ("tasks/get", &[("id", Id, "999")]),
    ("tasks/copy", &[("id", Id, "999")]),
    (
        "tasks/save",
        &[
            ("id", OptId, "999"),
            ("form", Form(TASK_FORM), ""),
            ("stop_running", OptText, ""),
        ],
    ),
    (
        "tasks/verify",
        &[("id", OptId, "999"), ("form", Form(TASK_FORM), "")],
    ),
    (
        "tasks/delete",
        &[("id", Id, "999"), ("delete_files", Flag, "false")],
    ),
    ("tasks/run", &[("id", Id, "999")]),
    (
        "tasks/enable",
        &[("id", Id, "999"), ("enabled", Flag, "true")],
    ),
    ("tasks/stop", &[("id", Id, "999")]),
    ("restores", &[]),
    ("restores/points", &[("task_id", Id, "999")]),
    (
        "restores/objects",
        &[("task_id", Id, "999"), ("point_id", Text, "x")],
    ),
    ("restores/targets", &[("task_id", Id, "999")]),
    (
        "restores/new",
        &[("task_id", OptId, "999"), ("point_id", OptText, "x")],
    ),
    ("restores/check", &[("form", Form(RESTORE_FORM), "")]),
    ("restores/create", &[("form", Form(RESTORE_FORM), "")]),
    ("restores/verify", &[("id", Id, "999")]),
    ("restores/get", &[("id", Id, "999")]),
    (
        "restores/start",
        &[("id", Id, "999"), ("acknowledge_warnings", Flag, "false")],
    ),
    (
        "restores/retry",
        &[("id", Id, "999"), ("acknowledge_warnings", Flag, "false")],
    ),
    ("restores/cancel", &[("id", Id, "999")]),
    ("restores/delete", &[("id", Id, "999")]),
    ("users", &[]),
    (
        "users/create",
        &[
            ("username", Text, ""),
            ("role", Text, "viewer"),
            ("password", Text, ""),
        ],
    ),
    ("users/role", &[("id", Id, "999"), ("role", Text, "viewer")]),
    (
        "users/disable",
        &[("id", Id, "999"), ("disabled", Flag, "true")],
    ),
    ("users/reset", &[("id", Id, "999"), ("password", Text, "x")]),
    ("tokens", &[]),
    ("tokens/create", &[("name", Text, "")]),
    ("tokens/revoke", &[("id", Id, "999")]),
    (
        "audit",
        &[
            ("page", Count, "1"),
            ("username", OptText, ""),
            ("action", OptText, ""),
            ("outcome", OptText, ""),
        ],
    ),
];

/// Form fields that are booleans rather than text.
const FLAGS: &[&str] = &["force", "lock"];

/// Larger than the server's body limit (1 MiB).
const OVER_LIMIT: usize = 2 * 1024 * 1024;
/// A value far longer than any field allows, within the body limit.
const LONG: usize = 200 * 1024;

const FORM: &str = "application/x-www-form-urlencoded";

/// The functions the server registered, by the path after `/api/`.
fn registered() -> BTreeSet<String> {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.strip_prefix("/api/").unwrap_or(path).to_owned())
        .collect()
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn pair(key: &str, value: &str) -> String {
    format!("{}={}", encode(key), encode(value))
}

/// The body with `args` at their harmless values, `arg` replaced by
/// `replacement` (pairs already encoded; `None` leaves it out).
fn body_with(args: &[Param], arg: &str, replacement: Option<&str>) -> String {
    let mut pairs = Vec::new();
    for (name, kind, value) in args {
        if *name == arg {
            pairs.extend(replacement.map(str::to_owned));
            continue;
        }
        match kind {
            Form(fields) => {
                pairs.push(pair(&format!("{name}[name]"), ""));
                if *fields == SOURCE_FORM {
                    pairs.push(pair(&format!("{name}[kind]"), "no-such-kind"));
                }
            }
            _ => pairs.push(pair(name, value)),
        }
    }
    pairs.join("&")
}

/// Every malformed body for one function: (what it is, body).
fn malformed_bodies(args: &[Param]) -> Vec<(String, String)> {
    let long = "x".repeat(LONG);
    let harmless = body_with(args, "", None);
    let mut bodies = vec![
        ("no body".to_owned(), String::new()),
        ("undecodable".to_owned(), "%%%&&=&==%zz[[]".to_owned()),
        (
            "nested too deep".to_owned(),
            format!("{harmless}&a[b][c][d][e][f][g][h]=1"),
        ),
        ("a field twice".to_owned(), format!("{harmless}&{harmless}")),
        (
            "an unknown field".to_owned(),
            format!("{harmless}&nonsense=1"),
        ),
    ];
    for (name, kind, _) in args {
        let mut wrong: Vec<String> = vec![format!("{name}[x]=1")];
        match kind {
            Id | OptId => wrong.extend(
                [
                    "abc",
                    "",
                    "1.5",
                    "99999999999999999999",
                    "0",
                    "-1",
                    "9223372036854775807",
                ]
                .map(|v| pair(name, v)),
            ),
            Count => {
                wrong.extend(["abc", "", "-1", "4294967296", "4294967295"].map(|v| pair(name, v)))
            }
            Flag => wrong.extend(["maybe", "", "1"].map(|v| pair(name, v))),
            Text | OptText => wrong.extend([pair(name, &long), pair(name, "nul\0 ünï€😀")]),
            Form(fields) => {
                wrong.push(pair(name, "x"));
                for field in *fields {
                    let key = format!("{name}[{field}]");
                    wrong.push(format!("{}[x]=1", encode(&key)));
                    if FLAGS.contains(field) {
                        wrong.push(pair(&key, "maybe"));
                    } else {
                        wrong.push(pair(&key, &long));
                    }
                }
            }
        }
        bodies.push((format!("{name} missing"), body_with(args, name, None)));
        for replacement in wrong {
            let shown: String = replacement.chars().take(40).collect();
            bodies.push((shown, body_with(args, name, Some(&replacement))));
        }
    }
    bodies
}

/// Checks one answer: below 500, and an error the browser can decode.
fn check(endpoint: &str, what: &str, res: &support::Response, tally: &mut BTreeMap<u16, usize>) {
    *tally.entry(res.status).or_default() += 1;
    assert!(
        res.status < 500,
        "{endpoint} ({what}): {} {}",
        res.status,
        res.body
    );
    if res.status >= 400 {
        let decoded = serde_json::from_str::<AppError>(&res.body);
        assert!(
            decoded.is_ok(),
            "{endpoint} ({what}): {} is not an error the browser can read: {}",
            res.status,
            res.body
        );
    }
}

#[test]
fn no_malformed_request_to_any_server_function_gets_a_server_error() {
    let listed: BTreeSet<String> = SIGNATURES.iter().map(|s| s.0.to_owned()).collect();
    let registered = registered();
    assert!(!registered.is_empty(), "no server function is registered");
    assert_eq!(
        listed, registered,
        "the signatures here must name exactly the registered server functions"
    );

    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("server.log");
    let server = Server::start_logged(
        dir.path(),
        &[("TIDEMARK_LOGIN_ATTEMPTS", "1000")],
        Some(&log),
    );
    server.sign_in_admin();
    let mut tally = BTreeMap::new();
    for (endpoint, args) in SIGNATURES {
        let path = format!("/api/{endpoint}");
        let harmless = body_with(args, "", None);
        let over_limit = format!("{harmless}&pad={}", "x".repeat(OVER_LIMIT)).into_bytes();
        let mut requests: Vec<(String, &str, Vec<u8>, bool)> = malformed_bodies(args)
            .into_iter()
            .map(|(what, body)| (what, FORM, body.into_bytes(), false))
            .collect();
        requests.extend([
            (
                "no content type".into(),
                "",
                harmless.clone().into_bytes(),
                false,
            ),
            (
                "JSON".into(),
                "application/json",
                br#"{"id": 1, "form": {}}"#.to_vec(),
                false,
            ),
            ("not UTF-8".into(), FORM, b"id=\xff\xfe\x00".to_vec(), false),
            (
                "over the body limit".into(),
                FORM,
                over_limit.clone(),
                false,
            ),
            (
                "over the body limit, chunked".into(),
                FORM,
                over_limit,
                true,
            ),
        ]);
        for (what, content_type, body, chunked) in requests {
            let res = server.post_raw(&path, content_type, body, chunked);
            check(endpoint, &what, &res, &mut tally);
            if what.starts_with("over the body limit") {
                assert_eq!(res.status, 413, "{endpoint} ({what}): {}", res.body);
            }
            // Sign-in and sign-out calls may have ended the session.
            if matches!(*endpoint, "login" | "logout") {
                server.sign_out_locally();
                server.sign_in_admin();
            }
        }
    }
    let total: usize = tally.values().sum();
    let by_status: Vec<String> = tally.iter().map(|(s, n)| format!("{s}: {n}")).collect();
    println!(
        "{total} malformed requests to {} server functions; by status: {}",
        SIGNATURES.len(),
        by_status.join(", ")
    );
    let text = std::fs::read_to_string(&log).unwrap();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "client mistakes were logged as errors:\n{}",
        errors.join("\n")
    );
    assert_eq!(server.request("GET", "/healthz").status, 200);
}

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
