// Each test crate that includes these helpers uses a part of them.
#![allow(dead_code)]

pub mod postgres;
