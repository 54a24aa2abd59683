use super::restore_dto::{request_field, RestoreRequest, StartRequest};
use super::*;
use crate::model::{RestoreForm, RestoreTarget};

#[test]
fn malformed_json_is_400_and_a_wrong_field_422_naming_it() {
    let err = parse_json::<RestoreRequest>(b"{\"task_id\": ").unwrap_err();
    assert_eq!(err.0.status(), 400, "{:?}", err.0);

    let err = parse_json::<RestoreRequest>(br#"{"task_id": "seven", "target": {"path": "/x"}}"#)
        .unwrap_err();
    assert_eq!(err.0.status(), 422);
    let body = err.body();
    assert_eq!(body.error.code, "invalid");
    assert_eq!(body.error.fields[0].field, "task_id");

    let err = parse_json::<RestoreRequest>(
        br#"{"task_id": 1, "target": {"path": "/x"}, "structure": "drop"}"#,
    )
    .unwrap_err();
    assert_eq!(err.0.status(), 422);
    assert_eq!(err.body().error.fields[0].field, "structure");

    let err =
        parse_json::<RestoreRequest>(br#"{"task_id": 1, "target": {"path": "/x"}, "forse": true}"#)
            .unwrap_err();
    assert!(err.0.to_string().contains("forse"), "{}", err.0);

    let err = parse_json::<RestoreRequest>(br#"{"task_id": 1, "target": {"path": "/x"}} {}"#)
        .unwrap_err();
    assert_eq!(err.0.status(), 400);

    assert!(
        !parse_json::<StartRequest>(b"{}")
            .unwrap()
            .acknowledge_warnings
    );
}

#[test]
fn error_bodies_carry_status_code_and_fields() {
    let body = ApiError(AppError::NotFound("task 9".into())).body();
    assert_eq!(
        (body.error.status, body.error.code.as_str()),
        (404, "not_found")
    );
    assert_eq!(body.error.message, "task 9 was not found");
    let taken = ApiError(AppError::Validation(vec![
        crate::model::FieldError::in_use("name", "taken"),
    ]));
    assert_eq!((taken.0.status(), taken.code()), (409, "conflict"));
    assert_eq!(taken.body().error.fields[0].field, "name");
    let response = ApiError(AppError::Unauthorized).into_response();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
}

fn base() -> RestoreForm {
    RestoreForm {
        name: "plant-restore".into(),
        objects_mode: "all".into(),
        target_mode: "source".into(),
        target_source_id: "4".into(),
        structure: "stop".into(),
        data: "stop".into(),
        verify: "content".into(),
        timeout_min: "1440".into(),
        ..RestoreForm::default()
    }
}

#[test]
fn a_request_becomes_the_form_the_console_would_send() {
    let request: RestoreRequest = parse_json(
        br#"{"task_id": 3, "target": {"path": "/srv/restores/x y"},
            "objects": [{"name": "public.\"odd name\""}, {"name": "b", "target_name": "b2"}],
            "data": "rewrite", "verify": "counts", "timeout_min": 30}"#,
    )
    .unwrap();
    let settings = request
        .into_form(base(), "p1".into())
        .parse()
        .expect("valid");
    assert_eq!(settings.name, "plant-restore");
    assert_eq!((settings.task_id, settings.point_id.as_str()), (3, "p1"));
    assert_eq!(
        settings.target,
        RestoreTarget::NewPath("/srv/restores/x y".into())
    );
    let names: Vec<(&str, &str)> = settings
        .objects
        .iter()
        .map(|o| (o.name.as_str(), o.target_name.as_str()))
        .collect();
    assert_eq!(
        names,
        [("public.\"odd name\"", "public.\"odd name\""), ("b", "b2")]
    );
    assert_eq!(
        (settings.data.as_str(), settings.verify.as_str()),
        ("rewrite", "counts")
    );
    assert_eq!(settings.timeout_min, 30);
    assert_eq!(settings.to_time, None);
}

#[test]
fn defaults_restore_everything_and_a_time_replaces_the_point() {
    let request: RestoreRequest = parse_json(
        br#"{"task_id": 3, "name": "to noon", "target": {"source_id": 7},
            "to_time": "2026-12-01 12:00:00"}"#,
    )
    .unwrap();
    let settings = request.into_form(base(), String::new()).parse().unwrap();
    assert_eq!(settings.name, "to noon");
    assert!(settings.objects.is_empty(), "the whole point");
    assert_eq!(settings.target, RestoreTarget::Source(7));
    assert_eq!(settings.to_time.as_deref(), Some("2026-12-01 12:00:00"));
    assert_eq!(
        (settings.structure.as_str(), settings.verify.as_str()),
        ("stop", "content")
    );

    let request: RestoreRequest =
        parse_json(br#"{"task_id": 3, "target": {"path": "relative"}, "timeout_min": 0}"#).unwrap();
    let errors = request.into_form(base(), "p1".into()).parse().unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["target_path", "timeout_min"]);
    let named: Vec<&str> = fields.into_iter().map(request_field).collect();
    assert_eq!(named, ["target.path", "timeout_min"]);
}

#[test]
fn the_document_names_every_route_and_the_bearer_scheme() {
    use utoipa::OpenApi;
    let doc: serde_json::Value =
        serde_json::from_str(&ApiDoc::openapi().to_json().unwrap()).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/tasks", "get"),
        ("/api/v1/tasks/{id}", "get"),
        ("/api/v1/tasks/{id}/runs", "get"),
        ("/api/v1/tasks/{id}/runs", "post"),
        ("/api/v1/tasks/{id}/cancel", "post"),
        ("/api/v1/tasks/{id}/points", "get"),
        ("/api/v1/tasks/{id}/drills", "get"),
        ("/api/v1/runs/{id}", "get"),
        ("/api/v1/restores", "get"),
        ("/api/v1/restores", "post"),
        ("/api/v1/restores/{id}", "get"),
        ("/api/v1/restores/{id}/start", "post"),
        ("/api/v1/restores/{id}/retry", "post"),
        ("/api/v1/restores/{id}/cancel", "post"),
    ] {
        assert!(paths[path].get(method).is_some(), "{method} {path}");
    }
    // Client generators name methods after operation ids: each is unique.
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let count = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!((ids.len(), count), (14, 14), "{ids:?}");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    for schema in [
        "Task",
        "Run",
        "RunDetail",
        "Restore",
        "RestoreRequest",
        "ErrorBody",
    ] {
        assert!(
            doc["components"]["schemas"].get(schema).is_some(),
            "{schema}"
        );
    }
}
