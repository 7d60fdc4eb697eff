//! Placeholder: filled with its connector.
