//! The committed header must be exactly what cbindgen generates from the current sources.

const GENERATED: &str = include_str!(concat!(env!("OUT_DIR"), "/mssync.h"));
const COMMITTED_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/include/mssync.h");

#[test]
fn committed_header_is_current() {
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::write(COMMITTED_PATH, GENERATED).expect("write the header");
    }
    let committed = std::fs::read_to_string(COMMITTED_PATH).unwrap_or_default();
    assert!(
        committed == GENERATED,
        "ffi/include/mssync.h is stale: run `UPDATE_HEADER=1 cargo test -p mssync-ffi header`, \
         review the diff and commit it"
    );
}

#[test]
fn header_states_the_contract_before_any_function() {
    let preamble_end = GENERATED
        .find("mss_abi_version")
        .expect("functions present");
    let preamble = &GENERATED[..preamble_end];
    for topic in [
        "Ownership",
        "Threading",
        "Shutdown order",
        "mss_buffer_free",
        "release",
    ] {
        assert!(
            preamble.contains(topic),
            "the preamble should cover {topic}"
        );
    }
}
