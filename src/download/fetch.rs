//! One download's exchanges with the CDN: attempts, redirects (each target checked), retries,
//! and what each answer means (a picture, expired, not a picture, too large).

use std::io::Read;

use ureq::http::{StatusCode, Uri};

use super::check::{self, AllowedHosts, ImageType};
use super::{DownloadState, Downloader, Image, MAX_DOWNLOAD_REDIRECTS};
use crate::call::Call;
use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::failure::Failure;
use crate::response::ERROR_BODY_READ;

impl Client {
    /// Attempts (and redirects) until a picture, a failure not worth retrying, or a stop.
    pub(super) fn fetch(
        &self,
        d: &Downloader,
        state: &DownloadState,
        call: &Call<'_>,
        uri: Uri,
    ) -> Result<Image, Error> {
        let mut attempts = 0;
        let mut stale_resends = 0;
        let mut uri = uri;
        let mut redirects = 0;
        loop {
            attempts += 1;
            call.new_attempt();
            let failure = match self.fetch_once(d, state, &uri) {
                Ok(Fetched::Image(kind, bytes)) => {
                    return Ok(Image {
                        bytes,
                        kind,
                        attempts,
                    });
                }
                Ok(Fetched::Redirect(next)) => {
                    redirects += 1;
                    if redirects > MAX_DOWNLOAD_REDIRECTS {
                        return Err(Error::new(
                            ErrorKind::HttpStatus,
                            format!("the CDN redirected more than {MAX_DOWNLOAD_REDIRECTS} times"),
                        )
                        .with_attempts(attempts));
                    }
                    uri = next;
                    attempts -= 1;
                    continue;
                }
                Err(f) => f,
            };
            if call.should_stop() {
                return Err(self.cancelled(attempts));
            }
            if failure.error.kind() == ErrorKind::Network
                && call.failed_on_stale_connection()
                && stale_resends < 1
            {
                // As for calls (retry.rs): a pooled connection the CDN had closed.
                stale_resends += 1;
                attempts -= 1;
                continue;
            }
            if !(failure.retryable && attempts <= self.max_retries) {
                return Err(failure.error.with_attempts(attempts));
            }
            if !call.sleep(crate::retry::backoff(attempts)) {
                return Err(self.cancelled(attempts));
            }
        }
    }

    /// One request to the CDN and what it answered.
    fn fetch_once(
        &self,
        d: &Downloader,
        state: &DownloadState,
        uri: &Uri,
    ) -> Result<Fetched, Failure> {
        let host = uri.host().unwrap_or_default();
        let mut response = state
            .agent
            .get(uri.clone())
            .header("accept", "image/jpeg, image/png, image/webp")
            .call()
            .map_err(|e| self.download_failure(e, host, d.max_bytes))?;
        let status = response.status();
        let code = status.as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        if matches!(code, 301 | 302 | 303 | 307 | 308) {
            let location = header("location").unwrap_or_default();
            let next = redirect_target(uri, &location, &d.hosts).map_err(|why| Failure {
                error: Error::new(
                    ErrorKind::HttpStatus,
                    format!("HTTP {code}: a redirect refused: {why}"),
                )
                .with_status(code),
                retryable: false,
                retry_after: None,
            })?;
            return Ok(Fetched::Redirect(next));
        }
        if status != StatusCode::OK {
            let mut text = Vec::new();
            let _ = response
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .reader()
                .take(ERROR_BODY_READ)
                .read_to_end(&mut text);
            return Err(status_failure(code, &self.token.excerpt(&text)));
        }
        let content_type = header("content-type").unwrap_or_default();
        let Some(kind) = ImageType::from_content_type(&content_type) else {
            return Err(not_an_image(format!(
                "the CDN answered with Content-Type {}, not a JPEG, PNG or WebP picture",
                shown_type(&content_type)
            )));
        };
        let bytes = response
            .body_mut()
            .with_config()
            .limit(d.max_bytes)
            .read_to_vec()
            .map_err(|e| self.download_failure(e, host, d.max_bytes))
            .map_err(|f| Failure {
                error: f.error.with_status(200),
                ..f
            })?;
        match ImageType::sniff(&bytes) {
            Some(found) if found == kind => Ok(Fetched::Image(kind, bytes)),
            Some(found) => Err(not_an_image(format!(
                "the CDN labelled the picture {} but its bytes are {}",
                kind.mime(),
                found.mime()
            ))),
            None => Err(not_an_image(format!(
                "the CDN labelled the picture {} but its first bytes are not a JPEG, PNG or \
                 WebP picture",
                kind.mime()
            ))),
        }
    }

    /// What a failed exchange with the CDN means.
    fn download_failure(&self, e: ureq::Error, host: &str, max_bytes: u64) -> Failure {
        if matches!(e, ureq::Error::BodyExceedsLimit(_)) {
            return Failure {
                error: Error::new(
                    ErrorKind::BodyTooLarge,
                    format!(
                        "the picture is larger than max_download_bytes ({max_bytes} bytes); \
                         reading stopped there"
                    ),
                ),
                retryable: false,
                retry_after: None,
            };
        }
        let host = check::shown_host(host);
        if matches!(e, ureq::Error::HostNotFound) {
            // The client's own explanation would name the service's host.
            return Failure {
                error: Error::new(
                    ErrorKind::Network,
                    format!("network error: host not found: {host}"),
                ),
                retryable: true,
                retry_after: None,
            };
        }
        let f = self.transport_failure(e);
        Failure {
            error: Error::new(
                f.error.kind(),
                format!("downloading from {host}: {}", f.error.message()),
            ),
            ..f
        }
    }
}

enum Fetched {
    Image(ImageType, Vec<u8>),
    Redirect(Uri),
}

fn not_an_image(message: String) -> Failure {
    Failure {
        error: Error::new(ErrorKind::BadResponse, message).with_status(200),
        retryable: false,
        retry_after: None,
    }
}

/// A `Content-Type` as a message shows it: printable ASCII, bounded, `(none)` when missing.
fn shown_type(value: &str) -> String {
    let shown: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect();
    if shown.is_empty() {
        "(none)".into()
    } else {
        format!("\"{shown}\"")
    }
}

/// What a status other than 200 or a redirect means for a picture.
fn status_failure(code: u16, detail: &str) -> Failure {
    let mut message = format!("the CDN answered HTTP {code}");
    if !detail.is_empty() {
        message.push_str(": ");
        message.push_str(detail);
    }
    let (kind, retryable) = match code {
        // What WhatsApp's CDN answers for a link whose signature expired (or was replaced).
        403 | 404 | 410 => {
            message.push_str(" (the link has expired or was revoked: ask GetAvatar again)");
            (ErrorKind::Expired, false)
        }
        429 => (ErrorKind::RateLimited, true),
        500 | 502 | 503 | 504 => (ErrorKind::ServerError, true),
        500..=599 => (ErrorKind::ServerError, false),
        _ => (ErrorKind::HttpStatus, false),
    };
    Failure {
        error: Error::new(kind, message).with_status(code),
        retryable,
        retry_after: None,
    }
}

/// Where a redirect's `Location` points, relative to `from`, if a download may go there.
fn redirect_target(from: &Uri, location: &str, hosts: &AllowedHosts) -> Result<Uri, String> {
    let location = location.trim();
    if location.is_empty() {
        return Err("it has no Location".into());
    }
    let absolute = if location.starts_with("//") {
        format!("https:{location}")
    } else if location.starts_with('/') {
        let authority = from.authority().map_or("", |a| a.as_str());
        format!("https://{authority}{location}")
    } else {
        location.to_string()
    };
    check::target(&absolute, hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_resolve_and_are_checked() {
        let hosts = AllowedHosts::new(&["127.0.0.1".into()]).unwrap();
        let from: Uri = "https://127.0.0.1:8443/a/b?oe=1".parse().unwrap();
        let to = |l: &str| redirect_target(&from, l, &hosts).map(|u| u.to_string());
        assert_eq!(to("/c").unwrap(), "https://127.0.0.1:8443/c");
        assert_eq!(
            to("https://pps.whatsapp.net/x").unwrap(),
            "https://pps.whatsapp.net/x"
        );
        assert!(to("https://evil.example/x").is_err());
        assert!(to("http://127.0.0.1/x").is_err());
        assert!(to("//evil.example/x").is_err());
        assert!(to("").is_err());
    }

    #[test]
    fn statuses() {
        for (code, kind) in [
            (403, ErrorKind::Expired),
            (404, ErrorKind::Expired),
            (410, ErrorKind::Expired),
            (500, ErrorKind::ServerError),
            (418, ErrorKind::HttpStatus),
        ] {
            assert_eq!(status_failure(code, "").error.kind(), kind, "{code}");
        }
        assert!(status_failure(503, "").retryable && !status_failure(403, "").retryable);
    }
}
