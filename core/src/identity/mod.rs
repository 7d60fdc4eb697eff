//! Identity: Entra ID sign-in and tokens (filled by its issue), and the token source every
//! connector takes its bearer tokens from.

mod token_source;

pub use token_source::{StaticToken, TokenSource};
