// `sqlx::migrate!` embeds the migrations when the crate is compiled; a new
// file in the directory must recompile it (sqlx's own advice).
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
