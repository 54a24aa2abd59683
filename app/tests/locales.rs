//! Every language file of the console holds exactly the keys of the
//! default one (`en.json`), and each translation uses the same
//! `{{ variables }}` as the English: a key left out would show English in
//! the middle of another language, a variable lost would drop a value.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

/// Every key (dotted) with the variables its text interpolates.
fn keys(value: &Value, prefix: &str, out: &mut BTreeMap<String, Vec<String>>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                keys(inner, &path, out);
            }
        }
        Value::String(text) => {
            let mut vars: Vec<String> = text
                .split("{{")
                .skip(1)
                .filter_map(|rest| rest.split_once("}}").map(|(v, _)| v.trim().to_owned()))
                .collect();
            vars.sort();
            vars.dedup();
            out.insert(prefix.to_owned(), vars);
        }
        other => panic!("{prefix}: a translation is text, not {other}"),
    }
}

fn load(path: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(path).expect("a locale file is readable");
    let value: Value = serde_json::from_str(&text).expect("a locale file is JSON");
    let mut out = BTreeMap::new();
    keys(&value, "", &mut out);
    out
}

#[test]
fn every_locale_has_the_default_keys_and_variables() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let english = load(&dir.join("en.json"));
    assert!(english.len() > 100, "en.json holds the console's text");
    let mut others = 0;
    for entry in std::fs::read_dir(&dir).expect("locales/ is readable") {
        let path = entry.expect("an entry of locales/").path();
        if path.extension().is_none_or(|e| e != "json") || path.ends_with("en.json") {
            continue;
        }
        others += 1;
        let name = path.display();
        let other = load(&path);
        let missing: Vec<_> = english.keys().filter(|k| !other.contains_key(*k)).collect();
        let extra: Vec<_> = other.keys().filter(|k| !english.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{name} lacks {missing:?}");
        assert!(extra.is_empty(), "{name} has keys en.json lacks: {extra:?}");
        for (key, vars) in &english {
            assert_eq!(
                &other[key], vars,
                "{name}: {key} interpolates other variables"
            );
        }
    }
    assert!(others >= 1, "at least one language besides English (zh-CN)");
}
