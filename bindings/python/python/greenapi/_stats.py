"""``Client.stats()``: what a client did so far, as a frozen dataclass."""

from __future__ import annotations

import dataclasses
from typing import Dict


@dataclasses.dataclass(frozen=True)
class Stats:
    """A client's counters since it was made (after a fork, its parent's before it). Every
    field counts up but ``in_flight`` and ``rate_per_sec``, which are now. Each is read on its
    own: a call ending meanwhile may show in one and not yet in another. Never holds the token.
    """

    #: Calls that ended (answered, failed or cancelled); batch entries count one each, a
    #: chat id refused as malformed (nothing tried) does not.
    calls: int
    #: Requests sent, free resends included.
    attempts: int
    #: Attempts retried after a failure.
    retries: int
    #: Free resends after a pooled connection turned out closed.
    stale_resends: int
    #: Calls answered (an Avatar).
    answered: int
    #: Calls failed, by the exception's ``code`` (``"timeout"``, ``"server_error"``, ...).
    failed: Dict[str, int]
    #: Answers with HTTP status 429.
    responses_429: int
    #: ``Retry-After`` pauses asked by the service.
    pauses: int
    #: Slow-downs after a 429 although pacing held.
    slow_downs: int
    #: Waits for a pacing turn (a turn taken at once is not a wait).
    pacing_waits: int
    #: Their total and the longest, in seconds.
    pacing_wait_total: float
    pacing_wait_max: float
    #: TCP connections opened and closed.
    connections_opened: int
    connections_closed: int
    #: TLS handshakes, full and resumed.
    tls_full_handshakes: int
    tls_resumed_handshakes: int
    #: Bytes written to and read from the connections (TLS records included).
    bytes_sent: int
    bytes_received: int
    #: Requests on the wire now.
    in_flight: int
    #: Requests per second the pacing lets through now (0: pacing off).
    rate_per_sec: float
    #: Event handlers that failed, caught and dropped (a raising logging handler is not
    #: counted: its record is dropped).
    handler_failures: int

    def as_dict(self) -> Dict[str, object]:
        """The fields as a dict (JSON-ready)."""
        return dataclasses.asdict(self)
