//! The shared library maturin installs as `greenapi/_native.abi3.so`.
//!
//! Everything is in the greenapi crate: its `#[pymodule]` exports `PyInit__native`, and rustc
//! exports a dependency's `#[no_mangle]` functions from a cdylib once the dependency is linked.

// Naming the crate is what links it: an unused dependency would be left out.
pub use greenapi;
