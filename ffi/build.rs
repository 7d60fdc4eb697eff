//! Generates the C header from the crate's `extern "C"` items into OUT_DIR. The committed copy
//! `include/mssync.h` is what hosts use; the test `header_tests::committed_header_is_current`
//! fails when the two differ (`UPDATE_HEADER=1 cargo test -p mssync-ffi header` rewrites it).

use std::path::PathBuf;

fn main() {
    let crate_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo")).join("mssync.h");
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    let config =
        cbindgen::Config::from_file(crate_dir.join("cbindgen.toml")).expect("cbindgen.toml reads");
    cbindgen::Builder::new()
        .with_crate(&crate_dir)
        .with_config(config)
        .generate()
        .expect("the header generates")
        .write_to_file(out);
}
