//! The C ABI. One file per C concept; Rust names equal C names. Every exported function is
//! written out literally so that cbindgen sees it, checks every pointer it is given, and runs its
//! body in the one guard of `boundary.rs`, so that no panic crosses into C.

#![allow(non_camel_case_types)]

pub mod batch;
pub mod client;
pub mod code;
pub mod download;
pub mod error;
pub mod event;
pub mod options;
pub mod result;
pub mod stats;
pub mod version;

mod boundary;
#[cfg(test)]
mod boundary_tests;

pub(crate) use boundary::{ArgError, guard, guard_recorded, opt_str_arg, str_arg};
