//! Malformed requests to every server function, against the real binary:
//! undecodable bodies, missing fields, wrong types, oversized values and
//! ids that do not exist answer 4xx with an error the browser can decode,
//! never 5xx, and are not logged as errors. (`error_statuses.rs` checks
//! exact statuses.)

mod support;

use std::collections::{BTreeMap, BTreeSet};

use app::error::AppError;
use support::Server;

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

const SOURCE_FORM: &[&str] = &[
    "name",
    "kind",
    "location",
    "description",
    "password",
    "drill_server",
];
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
    "drill_mode",
    "drill_every_n",
    "drill_first_start",
    "drill_period_value",
    "drill_period_unit",
    "drill_point",
    "drill_server_id",
    "drill_checks",
    "drill_time_limit",
    "rpo_target",
    "rto_target",
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

const REPOSITORY_FORM: &[&str] = &[
    "name",
    "location",
    "encryption",
    "passphrase",
    "repeat",
    "access_key_id",
    "secret_access_key",
];
const CHECK_FORM: &[&str] = &[
    "repository_id",
    "kind",
    "schedule_mode",
    "cron_expression",
    "cron_timezone",
    "first_start",
    "period_value",
    "period_unit",
    "read_percent",
];
const COPY_FORM: &[&str] = &[
    "name",
    "from_repository_id",
    "to_repository_id",
    "task",
    "schedule_mode",
    "cron_expression",
    "cron_timezone",
    "first_start",
    "period_value",
    "period_unit",
    "keep_last",
    "enabled",
];
const CHANNEL_FORM: &[&str] = &[
    "name",
    "kind",
    "url",
    "secret",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_username",
    "mail_from",
    "mail_to",
    "events",
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
    ("account/theme", &[("theme", Text, "dark")]),
    ("account/locale", &[("locale", Text, "zh-CN")]),
    ("users/downloads", &[]),
    ("users/downloads/set", &[("allowed", Flag, "false")]),
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
        &[("form", Form(REPOSITORY_FORM), "")],
    ),
    ("repositories/usage", &[("id", Id, "999")]),
    (
        "repositories/verify",
        &[("id", Id, "999"), ("read_data", Flag, "false")],
    ),
    ("copies", &[]),
    (
        "copies/save",
        &[("id", OptId, "999"), ("form", Form(COPY_FORM), "")],
    ),
    ("copies/delete", &[("id", Id, "999")]),
    ("copies/run", &[("id", Id, "999")]),
    ("repositories/checks", &[("id", Id, "999")]),
    (
        "repositories/checks/save",
        &[("form", Form(CHECK_FORM), "")],
    ),
    (
        "repositories/checks/run",
        &[("id", Id, "999"), ("kind", Text, "data")],
    ),
    (
        "repositories/unlock",
        &[("id", Id, "999"), ("passphrase", Text, "x")],
    ),
    (
        "repositories/passphrase",
        &[
            ("id", Id, "999"),
            ("encryption", Text, "generate"),
            ("passphrase", Text, ""),
            ("repeat", Text, ""),
        ],
    ),
    (
        "repositories/export",
        &[("id", Id, "999"), ("password", Text, "wrong-password")],
    ),
    (
        "repositories/settings",
        &[
            ("id", Id, "999"),
            ("limit_upload_mib", Text, "5"),
            ("s3_key", Text, "keep"),
            ("access_key_id", Text, ""),
            ("secret_access_key", Text, ""),
        ],
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
    (
        "tasks/cron",
        &[
            ("expression", Text, "0 3 * * *"),
            ("timezone", Text, "Europe/Berlin"),
        ],
    ),
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
    ("tasks/timeline", &[("task_id", Id, "999")]),
    ("drills", &[("task_id", Id, "999")]),
    ("drills/run", &[("task_id", Id, "999")]),
    ("drills/retry", &[("run_id", Id, "999")]),
    ("drills/stop", &[("task_id", Id, "999")]),
    ("restores", &[]),
    ("restores/points", &[("task_id", Id, "999")]),
    (
        "points/browse",
        &[
            ("task_id", Id, "999"),
            ("point_id", Text, "x"),
            ("folder", Text, ""),
            ("search", Text, ""),
            ("page", Count, "1"),
        ],
    ),
    (
        "points/diff",
        &[
            ("task_id", Id, "999"),
            ("from", OptText, "x"),
            ("to", Text, "x"),
        ],
    ),
    (
        "restores/objects",
        &[
            ("task_id", Id, "999"),
            ("point_id", Text, "x"),
            ("repository_id", OptId, "1"),
        ],
    ),
    ("restores/targets", &[("task_id", Id, "999")]),
    (
        "restores/new",
        &[
            ("task_id", OptId, "999"),
            ("point_id", OptText, "x"),
            ("select", OptText, "a"),
        ],
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
    ("notifications", &[]),
    ("notifications/create", &[("form", Form(CHANNEL_FORM), "")]),
    (
        "notifications/enable",
        &[("id", Id, "999"), ("enabled", Flag, "true")],
    ),
    ("notifications/delete", &[("id", Id, "999")]),
    ("notifications/test", &[("id", Id, "999")]),
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
