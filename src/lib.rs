//! greenapi: a client for the Green API WhatsApp gateway's GetAvatar method.
//!
//! The core (this crate's Rust API) knows nothing of C or Python: [`Client`], [`Options`],
//! [`Avatar`] and [`Error`]. The C ABI lives in [`ffi`], the Python module in `python` (behind
//! the `python` feature); both are thin translations of the core.
//!
//! ```no_run
//! let client = greenapi::Client::new("1101000001", "d75b3a66374942c5b3c019c698abc2067e151558")?;
//! let avatar = client.get_avatar("79001234567")?;
//! println!("{}", avatar.url_avatar);
//! # Ok::<(), greenapi::Error>(())
//! ```

#![deny(missing_docs)]

mod avatar;
mod batch;
mod call;
mod client;
mod dispatch;
mod download;
mod error;
mod failure;
mod fork;
mod inject;
mod lookup;
mod observe;
mod options;
mod pacing;
mod panic;
mod proxy;
mod resolver;
mod response;
mod retry;
mod secret;
mod tls;
mod transport;
mod validate;
mod verify;

#[cfg(feature = "_fuzz")]
#[doc(hidden)]
pub mod _fuzz;
pub mod ffi;
#[cfg(feature = "python")]
mod python;

pub use avatar::{Avatar, link_expiry};
pub use batch::{Batch, Item, MAX_BATCH, Next};
pub use client::Client;
pub use download::{
    DEFAULT_DOWNLOAD_HOST, Image, ImageType, MAX_DOWNLOAD_REDIRECTS, MAX_STEM_BYTES, file_stem,
};
pub use error::{Error, ErrorKind, MAX_MESSAGE_BYTES};
pub use observe::{Event, EventKind, Level, Observer, RESULT_SLOTS, Stats, URL_TEMPLATE};
pub use options::{
    DEFAULT_API_URL, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_DOWNLOAD_BYTES, DEFAULT_MAX_IN_FLIGHT, DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT_PER_SEC, DEFAULT_TIMEOUT_MS, MAX_BODY_BYTES_LIMIT, MAX_DOWNLOAD_BYTES_LIMIT,
    MAX_IN_FLIGHT_LIMIT, MAX_RATE_LIMIT_PER_SEC, MAX_RETRIES_LIMIT, MAX_TIMEOUT_MS,
    MIN_RATE_LIMIT_PER_SEC, MIN_TIMEOUT_MS, Options,
};
#[cfg(feature = "redis")]
pub use pacing::RedisUrl;
pub use pacing::{PACING_MARGIN, Pacing};
pub use validate::{MAX_CHAT_ID_BYTES, MIN_TOKEN_CHARS, normalize_chat_id};

/// The crate version, `MAJOR.MINOR.PATCH`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
