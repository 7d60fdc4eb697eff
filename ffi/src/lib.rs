//! The C ABI over `mssync-core`. Conventions: `shared/DESIGN.md`, "C ABI conventions".

/// Version of the C ABI; bumped on every incompatible change of the header.
pub const ABI_VERSION: u32 = 1;

/// The ABI version this library implements; a host checks it before anything else.
#[unsafe(no_mangle)]
pub extern "C" fn mss_abi_version() -> u32 {
    ABI_VERSION
}
