//! One call from start to end: a pacing turn, an attempt, and the retry decision (which
//! failures are retried, the backoff, `Retry-After`, and the free resend after a stale pooled
//! connection).

use std::hash::{BuildHasher, Hasher, RandomState};
use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ureq::http::StatusCode;

use crate::avatar::Avatar;
use crate::call::Call;
use crate::client::{Client, ProcessState};
use crate::dispatch::target::Load;
use crate::dispatch::{BatchJob, Grant, NoTurn};
use crate::error::{Error, ErrorKind};
use crate::failure::Failure;
use crate::observe::{self, EventKind, Level};
use crate::response::{self, ERROR_BODY_READ};
use crate::validate::ChatId;

/// First backoff delay; doubled per retry, with jitter, up to [`MAX_BACKOFF`].
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// A `Retry-After` longer than this is cut to it: one call should not block for minutes.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Free resends of one call after a failure on a stale pooled connection (curl's choice too):
/// a connection whose close was still in flight when it left the pool is a race that a second
/// try wins; a second such failure in a row is something else, and counts as a failure.
const MAX_STALE_RESENDS: u32 = 1;

/// The JSON body of the call; serde escapes whatever the chat id holds.
#[derive(serde::Serialize)]
struct RequestBody<'a> {
    #[serde(rename = "chatId")]
    chat_id: &'a str,
}

pub(crate) fn request_body(chat_id: &ChatId<'_>) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(&RequestBody {
        chat_id: chat_id.as_str(),
    })
    .map_err(|e| Error::invalid(format!("chat_id cannot be encoded: {e}")))
}

impl Client {
    /// Attempts until an answer, a failure not worth retrying, the last retry, or a stop. Each
    /// attempt waits for its turn in the dispatcher (`first`: the first attempt's, already
    /// given to a batch entry); `batch`: the batch whose entry this is, whose turns its retries
    /// take. The wait for a turn and the attempt share one `timeout`.
    pub(crate) fn run(
        &self,
        state: &ProcessState,
        call: &Call<'_>,
        body: &[u8],
        mut first: Option<Grant>,
        batch: Option<u64>,
    ) -> Result<Avatar, Error> {
        let mut attempts = 0;
        let mut stale_resends = 0;
        // The last attempt's failure: what a batch entry ends with when its batch was stopped
        // before its retry (not sent: the batch sends nothing after a stop).
        let mut last: Option<Error> = None;
        loop {
            let start = Instant::now();
            let mut grant =
                match first.take() {
                    Some(g) => g,
                    None => match state.dispatch.inner().turn(
                        call,
                        start.checked_add(self.timeout),
                        batch,
                    ) {
                        Ok(g) => g,
                        Err(NoTurn::Stopped) => {
                            return Err(match last.take() {
                                Some(e) if !call.should_stop() => e,
                                _ => self.cancelled(attempts),
                            });
                        }
                        Err(NoTurn::Timeout) => return Err(self.no_turn(attempts)),
                    },
                };
            let turn = grant.take_turn(|d| call.sleep(d));
            // Under a millisecond is the dispatcher's own work, not a wait for the pacing.
            let waited = start.elapsed();
            if waited >= Duration::from_millis(1) {
                self.obs.pacing_waited(waited);
            }
            if !turn {
                return Err(self.cancelled(attempts));
            }
            attempts += 1;
            call.new_attempt();
            observe::sites::new_attempt();
            self.obs.counters.attempt_started();
            self.obs
                .emit(EventKind::RequestSent, |e| e.attempt = attempts);
            let sent_at = self.obs.enabled(Level::Info).then(Instant::now);
            let left = self.timeout.saturating_sub(start.elapsed());
            let outcome = self.attempt(state, body, left);
            grant.ended(load_of(&outcome, call));
            let status = match &outcome {
                Ok(_) => 200,
                Err(f) => f.error.http_status().unwrap_or(0),
            };
            self.obs.counters.attempt_ended(status);
            let level = if outcome.is_ok() {
                Level::Debug
            } else {
                Level::Info
            };
            self.obs.emit_at(EventKind::RequestAnswered, level, |e| {
                e.attempt = attempts;
                e.status = status;
                e.error_type = outcome
                    .as_ref()
                    .err()
                    .map(|f| f.error.kind().info().python_code);
                e.duration_ms = sent_at.map_or(0.0, |t| millis(t.elapsed()));
                e.connection_reused = call.reused();
                e.tls_resumed = observe::sites::attempt_tls();
            });
            let failure = match outcome {
                Ok(mut avatar) => {
                    avatar.attempts = attempts;
                    return Ok(avatar);
                }
                Err(f) => f,
            };
            // Asked, not just remembered: a shutdown wakes a blocked read with an end of stream,
            // which looks like a failure without any wait having checked the flag.
            if call.should_stop() {
                return Err(self.cancelled(attempts));
            }
            let pacer = state.dispatch.pacer();
            if let Some(d) = failure.retry_after {
                // The service asked the whole client to wait, not just this thread: the pause
                // holds back every thread's next turn (every process's, with host pacing),
                // this one's included, retried or not.
                let d = d.min(MAX_RETRY_AFTER);
                self.obs.counters.paused();
                self.obs.emit(EventKind::Pause, |e| {
                    e.duration_ms = millis(d);
                    e.status = failure.error.http_status().unwrap_or(0);
                });
                pacer.pause(d, |w| call.sleep(w));
            }
            if failure.error.http_status() == Some(429) {
                pacer.slow_down(|w| call.sleep(w));
            }
            if failure.error.kind() == ErrorKind::Network
                && call.failed_on_stale_connection()
                && stale_resends < MAX_STALE_RESENDS
            {
                // The request died with a pooled connection before any byte of an answer: most
                // likely the server had closed it while it sat in the pool. It is sent again on
                // another connection without a backoff or an attempt counted. It still takes a
                // pacing turn: the server may have read it before dropping the connection.
                stale_resends += 1;
                self.obs.counters.stale_resent();
                self.obs
                    .emit(EventKind::StaleResend, |e| e.attempt = attempts);
                attempts -= 1;
                continue;
            }
            if !(failure.retryable && attempts <= self.max_retries) {
                return Err(failure.error.with_attempts(attempts));
            }
            last = Some(failure.error.clone().with_attempts(attempts));
            // The longer of the backoff and the `Retry-After`: the pause above holds the next
            // pacing turn until the `Retry-After` has passed, so the backoff alone is slept here.
            // `Retry-After: 0` thus leaves the backoff as it is.
            let wait = backoff(attempts);
            self.obs.counters.retried();
            self.obs.emit(EventKind::Retry, |e| {
                e.attempt = attempts;
                e.status = failure.error.http_status().unwrap_or(0);
                e.error_type = Some(failure.error.kind().info().python_code);
                e.duration_ms = millis(wait);
            });
            if !call.sleep(wait) {
                return Err(self.cancelled(attempts));
            }
        }
    }

    /// A batch entry's request, its retries included; `grant` is its first turn.
    pub(crate) fn run_entry(
        &self,
        job: &BatchJob,
        batch: u64,
        index: usize,
        grant: Grant,
    ) -> Result<Avatar, Error> {
        let Some(chat_id) = job.plan.chat_id(index) else {
            return Err(Error::invalid("chat_id was refused"));
        };
        let body = request_body(&chat_id)?;
        if self.is_shut_down() {
            return self.ended(Err(self.cancelled(0)));
        }
        let stop = || self.is_shut_down() || job.aborted.load(Ordering::Acquire);
        let state = self.state();
        let call = Call::new(&stop, false, state.dispatch.inner());
        self.ended(
            self.obs
                .enter(|| call.enter(|| self.run(state, &call, &body, Some(grant), Some(batch)))),
        )
    }

    /// The error of a call whose turn did not come within its timeout.
    fn no_turn(&self, attempts: u32) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "no pacing turn within the timeout ({} ms): the client's other requests took \
                 the turns meanwhile; nothing was sent",
                self.timeout.as_millis()
            ),
        )
        .with_attempts(attempts)
    }

    /// One request and its answer.
    fn attempt(
        &self,
        state: &ProcessState,
        body: &[u8],
        timeout: Duration,
    ) -> Result<Avatar, Failure> {
        let mut response = state
            .agent
            .post(self.uri.clone())
            .header("content-type", "application/json")
            .config()
            .timeout_global(Some(timeout.max(Duration::from_millis(1))))
            .build()
            .send(body)
            .map_err(|e| self.transport_failure(e))?;
        let status = response.status();
        let body = if status == StatusCode::OK {
            response
                .body_mut()
                .with_config()
                .limit(self.max_body_bytes)
                .read_to_vec()
                .map_err(|e| self.transport_failure(e))
                .map_err(|f| Failure {
                    error: f.error.with_status(200),
                    ..f
                })?
        } else {
            let mut text = Vec::new();
            // A failure to read the error body only loses the explanation, not the status.
            let _ = response
                .body_mut()
                .with_config()
                .limit(u64::MAX)
                .reader()
                .take(ERROR_BODY_READ)
                .read_to_end(&mut text);
            text
        };
        response::decode(status, response.headers(), &body, &self.token)
    }
}

/// What an attempt's outcome says of the service's load, for the in-flight target.
fn load_of(outcome: &Result<Avatar, Failure>, call: &Call<'_>) -> Load {
    match outcome {
        Ok(_) => Load::Answered,
        Err(_) if call.stopped() => Load::Unknown,
        Err(f) => match (f.error.kind(), f.error.http_status()) {
            (ErrorKind::Timeout, _) => Load::PushedBack,
            (_, Some(429 | 500..=599)) => Load::PushedBack,
            (_, Some(_)) => Load::Answered,
            _ => Load::Unknown,
        },
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Exponential backoff with "equal jitter": half the delay is fixed, half random, so that many
/// clients that failed together do not retry together.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let exp = BASE_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(16))
        .min(MAX_BACKOFF);
    let half = exp / 2;
    let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX).max(1);
    half + Duration::from_nanos(random_u64() % nanos)
}

/// A random number without a dependency: every `RandomState` is seeded afresh by std.
pub(crate) fn random_u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        for attempt in 1..20 {
            let d = backoff(attempt);
            let exp = BASE_BACKOFF
                .saturating_mul(1 << (attempt - 1).min(16))
                .min(MAX_BACKOFF);
            assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d:?}");
        }
    }
}
