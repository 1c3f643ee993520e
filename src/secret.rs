//! The API token, and the only code that looks at it: what is sent (the request URI is built
//! from [`Secret::expose`]), and what is shown (every text that may have come from a server
//! passes [`Secret::clean`] or [`Secret::scrub`] before it reaches a message).
//!
//! The rule the rest of the crate keeps: no text reaches an [`crate::Error`], an
//! [`crate::Avatar`] or a `Debug` output without passing through here first.

use std::fmt;

/// How much of a server's text goes into a message, in bytes.
pub(crate) const EXCERPT_BYTES: usize = 300;

/// What the placeholder for the token starts with; it is padded with `_` to the token's length.
const PLACEHOLDER: &str = "REDACTED";

/// The token, with a `Debug` that never shows it, and the placeholder that stands for it in
/// everything ureq sees (see `inject.rs`).
pub(crate) struct Secret {
    token: String,
    placeholder: String,
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl Secret {
    pub(crate) fn new(token: &str) -> Secret {
        Secret {
            token: token.to_string(),
            // The same length, so that it can be swapped for the token in place.
            placeholder: PLACEHOLDER
                .chars()
                .chain(std::iter::repeat('_'))
                .take(token.len())
                .collect(),
        }
    }

    /// The token itself, for the one place that must send it: the request line, written by
    /// `inject.rs` as it leaves.
    pub(crate) fn expose(&self) -> &str {
        &self.token
    }

    /// What stands for the token in the URI ureq is given and in the answers it reads.
    pub(crate) fn placeholder(&self) -> &str {
        &self.placeholder
    }

    /// Whether `text` holds the token (or its placeholder).
    pub(crate) fn is_in(&self, text: &str) -> bool {
        text.contains(self.token.as_str()) || text.contains(self.placeholder.as_str())
    }

    /// The token (and its placeholder) removed from any text, whoever wrote it.
    pub(crate) fn scrub(&self, text: &str) -> String {
        text.replace(self.token.as_str(), "***")
            .replace(self.placeholder.as_str(), "***")
    }

    /// `text` scrubbed in place, only when it holds the token (most texts do not: no copy).
    pub(crate) fn scrub_in_place(&self, text: &mut String) {
        if self.is_in(text) {
            *text = self.scrub(text);
        }
    }

    /// A short, single-line, token-free excerpt of a server body.
    pub(crate) fn excerpt(&self, body: &[u8]) -> String {
        self.clean(&String::from_utf8_lossy(body))
    }

    /// Text that came from a server, fit for a message: the token removed, then cut to
    /// [`EXCERPT_BYTES`] on one line. The token goes first, so no prefix of it can survive at
    /// the cut.
    pub(crate) fn clean(&self, text: &str) -> String {
        let text = self.scrub(text);
        let mut flat = String::new();
        for c in text.chars().map(|c| if c.is_control() { ' ' } else { c }) {
            if flat.len() + c.len_utf8() > EXCERPT_BYTES {
                break;
            }
            flat.push(c);
        }
        flat.trim().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "SECRETtoken0123456789";

    #[test]
    fn debug_hides_and_clean_cuts_after_scrubbing() {
        let s = Secret::new(TOKEN);
        assert_eq!(format!("{s:?}"), "\"***\"");
        // The token straddles the cut: scrubbed first, nothing of it is left.
        let text = format!("{}{TOKEN}\nmore", "x".repeat(EXCERPT_BYTES - 5));
        let clean = s.clean(&text);
        assert!(clean.len() <= EXCERPT_BYTES, "{}", clean.len());
        assert!(!clean.contains("SECRE"), "{clean}");
        assert!(!clean.contains('\n'));
    }
}
