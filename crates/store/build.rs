// `sqlx::migrate!` embeds the files under `migrations/` at compile time, but cargo does
// not know to rebuild when one is added; this tells it (as the sqlx docs advise).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations/sqlite");
    println!("cargo:rerun-if-changed=../../migrations/postgres");
}
