//! Build steps of the console crate.
//!
//! - `sqlx::migrate!` embeds the migrations when the crate is compiled; a
//!   new file in the directory must recompile it (sqlx's own advice).
//! - The translations: every `locales/<locale>.json` is a language of the
//!   console (`en` is the default, which every key must have), so a
//!   translator adds one by adding one file. leptos_i18n turns them into
//!   the `i18n` module, with the keys checked at compile time.

use std::error::Error;
use std::path::PathBuf;

use leptos_i18n_build::{Config, ParseOptions, TranslationsInfos};

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=locales");

    let mut others: Vec<String> = std::fs::read_dir("locales")?
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let locale = name.strip_suffix(".json")?.to_owned();
            (locale != "en").then_some(locale)
        })
        .collect();
    others.sort();

    let options = ParseOptions::default().interpolate_display(true);
    let cfg = Config::new("en")?
        .add_locales(others)?
        .parse_options(options);
    let translations = TranslationsInfos::parse(cfg)?;
    translations.emit_diagnostics();
    translations.rerun_if_locales_changed();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    translations.generate_i18n_module(out.join("i18n"))?;
    Ok(())
}
