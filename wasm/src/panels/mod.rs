//! The Setup and Home panels: real, accessible HTML rendered into an element of the host page,
//! over the views the page's backend answers (`host.api`). Labelled native controls (selects, buttons, a switch) keep
//! them keyboard-usable with no framework.
//!
//! Every action re-reads the views and re-renders, keeping focus on the control that had it;
//! then the panel fires `mssync:change` on the document, so the other panels of the page refresh
//! too. Errors show as an alert with the code and the message.

// The markup is plain Rust over the views, tested natively; only mounting needs a DOM.
#![cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]

mod home;
mod html;
mod setup;

#[cfg(target_arch = "wasm32")]
mod mount;

#[cfg(target_arch = "wasm32")]
pub use mount::{PanelHandle, mount_home_panel, mount_setup_panel};

#[cfg(test)]
mod tests;
