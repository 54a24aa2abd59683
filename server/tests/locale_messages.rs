//! The server writes its messages for the person it answers in their
//! language: a server function called with the console's language cookie,
//! or with Accept-Language only, answers a bad form with Chinese field
//! messages; without either, and through the REST API, in English.

mod support;

use app::error::AppError;
use support::Server;

/// The message for `field` when saving an empty data source.
fn empty_source_message(server: &Server, field: &str) -> String {
    let res = server.post_api(
        "/api/sources/save",
        &[
            ("form[name]", ""),
            ("form[kind]", ""),
            ("form[location]", "relative/path"),
            ("form[description]", ""),
            ("form[password]", ""),
        ],
    );
    assert_eq!(res.status, 422, "{}", res.body);
    let error: AppError = serde_json::from_str(&res.body).expect("an error body");
    error
        .field(field)
        .unwrap_or_else(|| panic!("no message for {field}: {}", res.body))
        .to_owned()
}

#[test]
fn field_messages_follow_the_console_language() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    server.sign_in_admin();

    assert_eq!(
        empty_source_message(&server, "name"),
        "give a name of 1 to 64 characters"
    );

    // The browser asks for Chinese: the console follows it.
    server
        .headers
        .borrow_mut()
        .push(("Accept-Language".into(), "zh-CN,zh;q=0.9,en;q=0.5".into()));
    assert_eq!(
        empty_source_message(&server, "name"),
        "请输入 1 到 64 个字符的名称"
    );
    assert_eq!(empty_source_message(&server, "kind"), "请选择类型");

    // The user's choice (the cookie the console sets) beats the browser.
    let chosen = server.post_api("/api/account/locale", &[("locale", "en")]);
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    assert!(
        chosen.head.contains("set-cookie: i18n_pref_locale=en"),
        "{}",
        chosen.head
    );
    assert_eq!(
        empty_source_message(&server, "name"),
        "give a name of 1 to 64 characters"
    );
    server.set_cookie("i18n_pref_locale", "zh-CN");
    assert_eq!(
        empty_source_message(&server, "name"),
        "请输入 1 到 64 个字符的名称"
    );
}
