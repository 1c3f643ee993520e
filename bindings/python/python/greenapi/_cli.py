"""The ``greenapi`` command line (also ``python -m greenapi``).

    greenapi avatars [FILE|-] [--output FILE [--resume]] [--download DIR] [--format json|csv]
                     [client options]
    greenapi avatar CHAT_ID [--download DIR] [--format json|csv] [client options]

Chat ids are read one per line (blank lines and lines starting with ``#`` skipped); one record
per chat id is written as its result completes, flushed at once, so nothing finished is lost
when the run is stopped (Ctrl-C, SIGTERM). Credentials come from the environment only: argv is
visible to every user of the machine. Standard library only.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import json
import logging
import os
import re
import shutil
import signal
import sys
import time
from types import FrameType
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence, Set, Tuple, Union

from ._download import SavedAvatar, iter_saved_avatars, normalized
from ._errors import GreenApiError
from ._native import Avatar, AvatarIterator, Client, __version__

__all__ = ["main"]

PROG = "greenapi"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
# sysexits.h's EX_IOERR: a full disk is neither "some ids failed" nor bad usage.
EXIT_WRITE = 74
# 128 + the signal, as a shell reports a program the signal killed.
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_PIPE = 128 + signal.SIGPIPE
EXIT_TERMINATED = 128 + signal.SIGTERM

# The most chat ids the library takes in one batch; more are worked through in chunks this size.
CHUNK = 1_000_000
# The Client's default rate_limit: the progress bar's estimate until requests have been timed.
DEFAULT_RATE_LIMIT = 10.0
# Answers timed before the progress bar trusts its own rate over the pacing's.
MIN_SAMPLES = 10

CSV_COLUMNS = ["chatId", "existsWhatsapp", "available", "urlAvatar", "reason", "error", "httpStatus", "message"]
# With --download, two more: the picture's file name in DIR, or why there is none.
PICTURE_COLUMNS = ["picture", "pictureMissing"]
# Records whose picture is not there but need not be asked again on --resume.
FINAL_MISSING = ("no_avatar", "hidden")

Record = Dict[str, Any]
Result = Union[Avatar, GreenApiError]

# Help texts are wrapped by hand to 79 columns (argparse would join their paragraphs).
ENVIRONMENT = f"""\
environment:
  GREEN_API_ID_INSTANCE  the instance id (required)
  GREEN_API_TOKEN        the instance's apiTokenInstance (required; there is no
                         option for it: a command line is visible to every user)
  GREEN_API_URL          its apiUrl (default https://api.green-api.com)
  GREEN_API_PACING       the default of --pacing
  GREEN_API_CA_FILE      the default of --ca-file
  GREEN_API_DOWNLOAD_HOSTS  the default of --download-host (comma-separated)
  https_proxy, ALL_PROXY, NO_PROXY  used when --proxy is not given

exit status:
  {EXIT_OK}    every chat id got an answer
  {EXIT_FAILED}    some chat ids got an error
  {EXIT_USAGE}    bad usage: nothing was asked
  {EXIT_WRITE}   the output cannot be written (a full disk: "No space left on device")
  {EXIT_INTERRUPTED}  Ctrl-C (SIGINT), {EXIT_TERMINATED} SIGTERM: every finished line is kept
  {EXIT_PIPE}  the reader of the output went away (`| head`): no more is asked
"""

AVATARS_DESCRIPTION = """\
Asks for the avatar of every chat id in FILE (or stdin), one per line (UTF-8;
blank lines and lines starting with # skipped; a BOM at the start of a line is
dropped). Paced to --rate-limit, with as many requests at once as keep that
pace (at most --max-in-flight)."""

AVATARS_EPILOG = (
    """\
Each line written is a JSON object: {"chatId", "existsWhatsapp", "available",
"urlAvatar", "reason"} for an answer (a field the service did not send is
null), or {"chatId", "error": {"code", "httpStatus", "message"}} when there is
none. With --format csv the same columns: chatId, existsWhatsapp, available,
urlAvatar, reason, error, httpStatus, message; a cell that starts with = + - @,
a tab, CR or ' gets a ' in front (a spreadsheet would run it as a formula),
but not a number such as +79001234567. Lines come in the order results
complete; the output is UTF-8. A progress bar goes to stderr when it is a
terminal.

Ctrl-C or SIGTERM stops the run with every finished line written; run again
with --resume to ask only the chat ids without an answer.

With --download DIR each picture is saved into DIR as its link arrives (named
after the chat id, the extension after its type: 79001234567@c.us.jpg),
GetAvatar still paced, the downloads alongside. Each record gets "picture"
(the file name in DIR) or "pictureMissing": no_avatar, hidden, expired (asked
again once, expired again), refused (not a picture, too large, host not
allowed) or error. A picture is written to a temporary file and renamed, so a
killed run never leaves half of one. --resume then also asks again the chat
ids whose picture is missing from DIR.

"""
    + ENVIRONMENT
)


class UsageError(Exception):
    """Bad usage found after argument parsing: exit status 2, the message on stderr."""


class OutputError(Exception):
    """The output cannot be written (not a closed pipe: that is BrokenPipeError)."""

    def __init__(self, name: str, error: OSError) -> None:
        super().__init__(f"cannot write {name}: {error.strerror or error}")


class Stopped(BaseException):
    """A stopping signal where nothing is left to wind down (no batch, or a second signal).
    A BaseException, as KeyboardInterrupt is: no ``except Exception`` may swallow it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


# ---- arguments --------------------------------------------------------------------------------


def _client_options_parser() -> argparse.ArgumentParser:
    """The options every command takes: one per Client option (see help(greenapi.Client)); a
    flag not given leaves the Client's default."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("client options (defaults: the library's)")
    # Each flag's dest is the Client option's name; _client() passes on those in this list.
    options = [
        g.add_argument("--timeout", type=float, metavar="SECONDS",
                       help="time for one HTTP attempt, body included (default 30; 0.001 to 86400)"),
        g.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                       help="time to connect, TCP and TLS (default 10; 0.001 to 86400)"),
        g.add_argument("--max-retries", type=int, metavar="N",
                       help="retries after the first attempt, where safe (default 2; 0 to 10)"),
        g.add_argument("--rate-limit", type=float, metavar="PER_SECOND",
                       help="requests per second (default 10, the service's limit; 0: no pacing)"),
        g.add_argument("--max-in-flight", type=int, metavar="N",
                       help="most requests in flight at once (default 64; 1 to 256; under pacing, "
                            "as many as keep the pace)"),
        g.add_argument("--proxy", metavar="URL",
                       help='proxy URL (http:// or https://); "" for none (default: from the environment)'),
        g.add_argument("--ca-file", metavar="PEM", default=os.environ.get("GREEN_API_CA_FILE") or None,
                       help="PEM file of root certificates trusted in addition to the built-in ones"),
        g.add_argument("--user-agent", metavar="TEXT", help="User-Agent header (default greenapi/<version>)"),
        g.add_argument("--max-body-bytes", type=int, metavar="BYTES",
                       help="largest response body read (default 1048576)"),
        g.add_argument("--allow-insecure-http", action="store_true", default=None,
                       help="allow http:// to a host that is not loopback"),
        g.add_argument("--download-host", dest="download_hosts", action="append", metavar="HOST",
                       default=[h for h in os.environ.get("GREEN_API_DOWNLOAD_HOSTS", "").split(",") if h] or None,
                       help="with --download: a host pictures may come from besides whatsapp.net "
                            "(again for more)"),
        g.add_argument("--max-download-bytes", type=int, metavar="BYTES",
                       help="with --download: largest picture read (default 5242880)"),
        g.add_argument("--pacing", metavar="HOW", default=os.environ.get("GREEN_API_PACING") or None,
                       help="host (default): share the rate with every client of the instance "
                            "on this machine; process: pace alone; redis://[user:password@]host"
                            "[:port][/db]: share it through Redis (a password belongs in "
                            "GREEN_API_PACING, not on a command line every user can see)"),
    ]
    p.set_defaults(client_options=[action.dest for action in options])
    p.add_argument("--download", metavar="DIR",
                   help="save each picture into DIR (made if missing) as its link arrives")
    p.add_argument("--format", choices=["json", "csv"], default="json",
                   help="json: one object per line (default); csv: a header, then one row per chat id")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="-v: one line per event at info and above (retries, pauses, slow-downs) "
                        "on stderr; -vv: every request and connection too")
    p.add_argument("--stats", metavar="FILE",
                   help="at the end, write the client's counters to FILE as JSON (-: stderr)")
    return p


def _parser() -> argparse.ArgumentParser:
    common = _client_options_parser()
    top = argparse.ArgumentParser(
        prog=PROG,
        description="Avatars of WhatsApp chats from the Green API (GetAvatar).",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = top.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    many = commands.add_parser(
        "avatars",
        parents=[common],
        help="the avatars of chat ids read from a file or stdin, one per line",
        description=AVATARS_DESCRIPTION,
        epilog=AVATARS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    many.add_argument("file", nargs="?", default="-", metavar="FILE",
                      help="chat ids, one per line; - or nothing: stdin")
    many.add_argument("-o", "--output", metavar="FILE",
                      help="write the records to FILE instead of stdout (-: stdout)")
    many.add_argument("--resume", action="store_true",
                      help="with --output: keep FILE, skip the chat ids that already have an answer "
                      "in it (not those with an error) and append the others")
    one = commands.add_parser(
        "avatar",
        parents=[common],
        help="the avatar of one chat id",
        description="Asks for the avatar of one chat id and writes its record to stdout.",
        epilog=ENVIRONMENT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    one.add_argument("chat_id", metavar="CHAT_ID", help="79001234567, 79001234567@c.us, ...@g.us or ...@lid")
    return top


def _user_names(args: argparse.Namespace) -> Dict[str, str]:
    """The library's names for its arguments (Python's, or C's: rate_limit_per_sec) mapped to
    what the user of the command line set: a flag or an environment variable."""
    names = {name: "--" + name.replace("_", "-") for name in args.client_options}
    names.update(
        id_instance="GREEN_API_ID_INSTANCE",
        api_token_instance="GREEN_API_TOKEN",
        api_url="GREEN_API_URL",
        rate_limit_per_sec="--rate-limit",
        download_hosts="--download-host",
    )
    if os.environ.get("GREEN_API_PACING") and args.pacing == os.environ["GREEN_API_PACING"]:
        names["pacing"] = "--pacing (GREEN_API_PACING)"
    if args.proxy is None:
        names["proxy"] = "the proxy from the environment (https_proxy, ALL_PROXY)"
    return names


def _in_user_terms(message: str, names: Dict[str, str]) -> str:
    # A name with "_" is an identifier wherever it stands; a plain word (timeout, proxy) is the
    # argument's name only as the message's subject ("proxy is not a valid proxy URL").
    def name(m: "re.Match[str]") -> str:
        word = m.group(0)
        return names[word] if "_" in word or m.start() == 0 else word

    pattern = r"\b(?:" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b"
    return re.sub(pattern, name, message)


def _client(args: argparse.Namespace) -> Client:
    """The Client from the environment and the options given; UsageError when refused."""
    id_instance = os.environ.get("GREEN_API_ID_INSTANCE", "")
    token = os.environ.get("GREEN_API_TOKEN", "")
    missing = [name for name, value in (("GREEN_API_ID_INSTANCE", id_instance), ("GREEN_API_TOKEN", token))
               if not value]
    if missing:
        raise UsageError(f"set {' and '.join(missing)} in the environment (see {PROG} --help)")
    options: Dict[str, Any] = {
        name: getattr(args, name) for name in args.client_options if getattr(args, name) is not None
    }
    try:
        return Client(id_instance, token, api_url=os.environ.get("GREEN_API_URL") or None, **options)
    except GreenApiError as e:
        # The library's messages name the refused argument and never carry the token.
        raise UsageError(_in_user_terms(str(e), _user_names(args))) from None


# ---- records ----------------------------------------------------------------------------------


def _record(chat_id: str, result: Result, saved: Optional[SavedAvatar] = None) -> Record:
    if isinstance(result, GreenApiError):
        record: Record = {"chatId": chat_id,
                          "error": {"code": result.code, "httpStatus": result.http_status, "message": str(result)}}
    else:
        record = {
            "chatId": chat_id,
            "existsWhatsapp": result.exists_whatsapp,
            "available": result.available,
            "urlAvatar": result.url_avatar,
            "reason": result.reason,
        }
    if saved is not None:
        record["picture"] = saved.path.name if saved.path is not None else None
        record["pictureMissing"] = saved.missing
    return record


# A cell starting so is run as a formula by a spreadsheet (OWASP, "CSV injection"); ' is in the
# list so that taking one ' off (--resume) gives back every cell exactly.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")
# ...but a signed number (a chat id such as +79001234567) is only a number to a spreadsheet.
SIGNED_NUMBER = re.compile(r"[+-][0-9]+\Z")


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text.startswith(FORMULA_START) and not SIGNED_NUMBER.match(text):
        return "'" + text
    return text


def _csv_text(cell: str) -> str:
    """The value of a cell _csv_cell wrote (its text)."""
    return cell[1:] if cell.startswith("'") else cell


def _csv_row(record: Record, columns: List[str]) -> List[str]:
    error = record.get("error") or {}
    flat = dict(record, error=error.get("code"), httpStatus=error.get("httpStatus"), message=error.get("message"))
    return [_csv_cell(flat.get(column)) for column in columns]


class Writer:
    """Writes records one per line, each flushed at once, as JSON lines or CSV, to ``stream``
    (called ``name`` in messages)."""

    def __init__(self, stream: IO[str], name: str, fmt: str, header: bool,
                 columns: List[str] = CSV_COLUMNS) -> None:
        self._stream = stream
        self._name = name
        self._fmt = fmt
        self._columns = columns
        if fmt == "csv" and header:
            self._write_csv(columns)

    def _write_csv(self, row: List[str]) -> None:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(row)
        self._emit(line.getvalue())

    def _emit(self, line: str) -> None:
        # One write per line: a run killed mid-way leaves at most one line without its "\n".
        try:
            self._stream.write(line)
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise OutputError(self._name, e) from None

    def write(self, record: Record) -> None:
        if self._fmt == "csv":
            self._write_csv(_csv_row(record, self._columns))
        else:
            self._emit(json.dumps(record) + "\n")



def _close(stream: IO[str], name: str, failing: bool) -> None:
    """Closes an output file; while ``failing`` (the error is on its way) its own says nothing new."""
    try:
        stream.close()
    except OSError as e:
        if not failing:
            raise OutputError(name, e) from None


def _complete_csv(data: bytes) -> int:
    """The length of the complete records at the start of CSV output. A record ends at a "\\n"
    outside quotes: one cut short inside a quoted cell (a kill after a newline in a text of the
    service) has an odd number of quotes."""
    end = data.rfind(b"\n") + 1
    if data.count(b'"', 0, end) % 2 == 0:
        return end
    end = pos = quotes = 0
    while True:
        newline = data.find(b"\n", pos)
        if newline < 0:
            return end
        quotes += data.count(b'"', pos, newline)
        pos = newline + 1
        if quotes % 2 == 0:
            end = pos


def _answered(text: str, fmt: str, columns: List[str] = CSV_COLUMNS,
              complete: Callable[[Record], bool] = lambda record: True) -> Set[str]:
    """The chat ids that have an answer (not an error) in the complete records of an output file.
    Records are read as they were written: CSV by the csv module (a cell may hold any character
    but a bare "\\n"), JSON split on "\\n" only (str.splitlines() splits on U+2028 and more)."""
    done: Set[str] = set()
    if fmt == "csv":
        for row in csv.reader(io.StringIO(text, newline="")):
            # A row with too few or too many cells is not one this program wrote whole.
            if len(row) == len(columns) and row[0] and not row[columns.index("error")]:
                record = {name: (_csv_text(cell) or None) for name, cell in zip(columns, row)}
                if complete(record):
                    done.add(_csv_text(row[0]))
        return done
    for line in text.split("\n"):
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        chat_id = record.get("chatId")
        if isinstance(chat_id, str) and "error" not in record and complete(record):
            done.add(chat_id)
    return done


def _looks_like(first_line: str, fmt: str, columns: List[str] = CSV_COLUMNS) -> bool:
    """Whether the first line of an output file is one this program writes in ``fmt``."""
    if fmt == "csv":
        return first_line.rstrip("\r\n") == ",".join(columns)
    return first_line.lstrip().startswith("{")


def _open_for_resume(path: str, fmt: str, columns: List[str] = CSV_COLUMNS,
                     complete: Callable[[Record], bool] = lambda record: True) -> Tuple[IO[str], Set[str], bool]:
    """Opens an output file to append to: (file, chat ids answered in it, whether it is empty).

    A last record without its end was cut short by a kill in the middle of a write: it is
    removed, so its chat id is asked again and the next record does not run into it."""
    with open(path, "a+b") as f:
        f.seek(0)
        data = f.read()
        end = _complete_csv(data) if fmt == "csv" else data.rfind(b"\n") + 1
        if end < len(data):
            f.truncate(end)
    text = data[:end].decode("utf-8", errors="replace")
    if text and not _looks_like(text[: text.find("\n") + 1], fmt, columns):
        raise UsageError(f"{path} is not {fmt} output of {PROG}; --resume continues a file of the same "
                         "--format (and --download or not)")
    stream = open(path, "a", encoding="utf-8", newline="")
    return stream, _answered(text, fmt, columns, complete), end == 0


def _utf8_stdout() -> IO[str]:
    """stdout, writing UTF-8 whatever the locale (a CSV of Cyrillic ids to a latin-1 terminal)."""
    reconfigure = getattr(sys.stdout, "reconfigure", None)
    if reconfigure is not None:
        reconfigure(encoding="utf-8", newline="")
    return sys.stdout


def _silence_stdout() -> None:
    # What is still buffered for a stdout that cannot take it would fail again in the
    # interpreter's flush at exit, with a message of its own: it goes nowhere instead.
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):
        pass


# ---- input ------------------------------------------------------------------------------------


def _read_chat_ids(source: str) -> List[str]:
    """The chat ids of a file (``-``: stdin). Lines end at "\\n" (a "\\r" before it is
    whitespace); a BOM at the start of any line is dropped (``cat a b |`` of files that each
    start with one); a comment's bytes need not be UTF-8, an id's must."""
    name = "stdin" if source == "-" else source
    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as f:
                data = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {source}: {e.strerror or e}") from None
    ids = []
    for number, line in enumerate(data.split(b"\n"), 1):
        if line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8):]
        stripped = line.strip()
        if not stripped or stripped.startswith(b"#"):
            continue
        try:
            chat_id = line.decode("utf-8").strip()
        except UnicodeDecodeError:
            raise UsageError(f"{name}, line {number}: not UTF-8 text") from None
        if chat_id:
            ids.append(chat_id)
    return ids


def _key(chat_id: str) -> str:
    """The chat id as the library asks it (its normalize_chat_id): a phone number, optionally
    after "+", is digits@c.us; any other id is itself. Never coarser than the library's, so
    that two ids with one key are the same chat; a refused id is its own key."""
    return normalized(chat_id)


# ---- the progress bar -------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """done/total, a bar, the rate and the time left, redrawn on one line of a terminal at most
    ten times a second (and at the end). Silent when the stream is not a terminal.

    The rate and the time left count requests answered, not the ids that finish at once (a
    refused id, a copy of another): ``estimate`` (the pacing's rate; 0: none) stands in for
    the rate until MIN_SAMPLES answers are timed."""

    def __init__(self, stream: IO[str], total: int, estimate: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._total = total
        self._estimate = estimate
        self._clock = clock
        self._start = clock()
        # The first drawing waits a tenth of a second: the ids that finish at once (refused
        # ones come out first) are out by then, and the time left counts only requests.
        self._drawn = self._start
        self._done = 0
        self._answered = 0
        self._left = 0
        self._drawn_done = -1
        self._active = total > 0 and stream.isatty()

    def update(self, done: int, answered: int, left: int) -> None:
        """``done`` ids of ``total`` have their record, ``answered`` requests were answered and
        ``left`` are still to be."""
        self._done, self._answered, self._left = done, answered, left
        now = self._clock()
        if self._active and (done >= self._total or now - self._drawn >= 0.1):
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self._start
        rate = self._estimate
        if self._answered >= MIN_SAMPLES and elapsed > 0:
            rate = self._answered / elapsed
        eta = _duration(self._left / rate) if rate > 0 else "--:--"
        counts = f"{self._done}/{self._total}"
        tail = f" {rate:.1f}/s ETA {eta}" if rate > 0 else f" -/s ETA {eta}"
        width = shutil.get_terminal_size((80, 24)).columns - len(counts) - len(tail) - 4
        bar = ""
        if width >= 10:
            filled = width * self._done // self._total
            bar = " [" + "#" * filled + "." * (width - filled) + "]"
        self._stream.write(f"\r{counts}{bar}{tail}\x1b[K")
        self._stream.flush()
        self._drawn_done = self._done

    def finish(self) -> None:
        if self._active:
            if self._drawn_done != self._done:
                self._draw(self._clock())
            self._stream.write("\n")
            self._stream.flush()


# ---- commands ---------------------------------------------------------------------------------


# The signals that stop a run, each with its message and exit status.
STOPS = {
    signal.SIGINT: ("interrupted", EXIT_INTERRUPTED),
    signal.SIGTERM: ("terminated", EXIT_TERMINATED),
}


class Signals:
    """Handlers for SIGINT (Ctrl-C) and SIGTERM (systemd, ``docker stop``, ``timeout``).

    While a batch runs, the first signal asks it to stop (no exception raised, so a result
    already taken is never lost between being handed out and being written) and is remembered;
    a second one, or one with no batch running, raises Stopped. A signal the program was
    started with ignored stays ignored."""

    def __init__(self) -> None:
        self.received: Optional[int] = None
        self._batch: Optional[AvatarIterator] = None
        self._previous: Dict[int, Any] = {}

    def __enter__(self) -> Signals:
        for signum in STOPS:
            if signal.getsignal(signum) is not signal.SIG_IGN:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, previous in self._previous.items():
            # None: the handler was not set from Python; the default is the closest there is.
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)

    def watch(self, batch: AvatarIterator) -> None:
        self._batch = batch
        if self.received is not None:
            batch._cancel()

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.received is not None or self._batch is None:
            # A second signal: the user does not want to wait for the batch to wind down.
            raise Stopped(self.received or signum)
        self.received = signum
        self._batch._cancel()


def _download_dir(args: argparse.Namespace) -> Optional[str]:
    """The --download directory, made if missing; None without --download."""
    directory: Optional[str] = args.download
    if directory is None:
        return None
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as e:
        raise UsageError(f"cannot make --download {directory}: {e.strerror or e}") from None
    return directory


def _batches(client: Client, asks: List[str], directory: Optional[str]
             ) -> Tuple[Any, Iterator[Tuple[str, Result, Optional[SavedAvatar]]]]:
    """The batch of one chunk and the ``(chat_id, result, saved)`` it yields; with a directory,
    pictures are saved alongside (``saved`` is their SavedAvatar, else None)."""
    if directory is None:
        batch = client.iter_avatars(asks)
        return batch, ((chat_id, result, None) for chat_id, result in batch)
    saving = iter_saved_avatars(client, asks, directory)
    return saving, ((s.chat_id, s.result, s) for s in saving)


class _EventLines(logging.Handler):
    """One line per event on stderr: ``greenapi: <level> <message>`` (the message is made
    from the event's fields alone: never a token or password)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"{PROG}: {record.levelname.lower()} {record.getMessage()}\n")
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - a log line must never end the run
            self.handleError(record)


def _verbose(args: argparse.Namespace) -> Callable[[], None]:
    """Sends the library's events to stderr as -v / -vv ask; returns what undoes it."""
    if not args.verbose:
        return lambda: None
    logger = logging.getLogger("greenapi")
    handler = _EventLines()
    before = logger.level
    logger.setLevel(logging.DEBUG if args.verbose > 1 else logging.INFO)
    logger.addHandler(handler)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(before)

    return undo


def _write_stats(args: argparse.Namespace, client: Client) -> None:
    """--stats FILE: the client's counters as one JSON object."""
    if not args.stats:
        return
    text = json.dumps(client.stats().as_dict(), sort_keys=True) + "\n"
    if args.stats == "-":
        sys.stderr.write(text)
        return
    try:
        with open(args.stats, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise OutputError(args.stats, e) from None


def _summary(ids: int, client: Client, elapsed: float) -> str:
    """The end-of-run line: ids, answered, failed by kind, 429s, retries, time, rate."""
    s = client.stats()
    failed = sum(s.failed.values())
    kinds = ", ".join(f"{code} {n}" for code, n in sorted(s.failed.items()))
    rate = s.answered / elapsed if elapsed > 0 else 0.0
    return (
        f"{PROG}: {ids} ids, {s.answered} answered, {failed} failed"
        + (f" ({kinds})" if kinds else "")
        + f", {s.responses_429} 429s, {s.retries} retries, {elapsed:.1f} s, {rate:.1f} avatars/s"
    )


def _avatars(args: argparse.Namespace, signals: Signals) -> int:
    to_stdout = args.output in (None, "-")
    if args.resume and to_stdout:
        raise UsageError("--resume needs --output FILE (the file to continue; - is stdout)")
    chat_ids = _read_chat_ids(args.file)
    client = _client(args)
    directory = _download_dir(args)
    columns = CSV_COLUMNS + PICTURE_COLUMNS if directory is not None else CSV_COLUMNS

    def complete(record: Record) -> bool:
        # With --download a record is done when its picture is in the directory, or there is
        # none to fetch (no avatar, hidden).
        if directory is None:
            return True
        picture = record.get("picture")
        if isinstance(picture, str) and picture:
            return os.path.isfile(os.path.join(directory, picture))
        return record.get("pictureMissing") in FINAL_MISSING

    answered: Set[str] = set()
    name = "stdout" if to_stdout else args.output
    try:
        if to_stdout:
            out, empty = _utf8_stdout(), True
        elif args.resume:
            out, answered, empty = _open_for_resume(args.output, args.format, columns, complete)
        else:
            out, empty = open(args.output, "w", encoding="utf-8", newline=""), True
    except OSError as e:
        raise UsageError(f"cannot write {args.output}: {e.strerror or e}") from None
    todo = [chat_id for chat_id in chat_ids if chat_id not in answered]
    # Each chat is asked once, by its first line; its result is written for the others too.
    # Done here, not left to the library, as the library sees one chunk at a time.
    asks: List[str] = []
    copies: Dict[str, List[str]] = {}
    for chat_id in todo:
        key = _key(chat_id)
        if key in copies:
            copies[key].append(chat_id)
        else:
            copies[key] = []
            asks.append(chat_id)
    failed = done = requests = 0
    started = time.monotonic()
    left = len(asks)
    failing = True
    rate = DEFAULT_RATE_LIMIT if args.rate_limit is None else args.rate_limit
    with client:
        try:
            writer = Writer(out, name, args.format, header=empty, columns=columns)
            progress = Progress(sys.stderr, len(todo), rate)
            try:
                for start in range(0, len(asks), CHUNK):
                    if signals.received is not None:
                        break
                    batch, results = _batches(client, asks[start:start + CHUNK], directory)
                    signals.watch(batch if directory is None else batch.batch)
                    try:
                        for chat_id, result, saved in results:
                            left -= 1
                            # A result with no HTTP attempt was refused (or never asked).
                            requests += not (isinstance(result, GreenApiError) and result.attempts == 0)
                            for line in [chat_id, *copies[_key(chat_id)]]:
                                failed += isinstance(result, GreenApiError)
                                writer.write(_record(line, result, saved))
                                done += 1
                                progress.update(done, requests, left)
                    finally:
                        batch.close()
            finally:
                progress.finish()
            failing = False
        finally:
            if not to_stdout:
                _close(out, name, failing)
        print(_summary(len(todo), client, time.monotonic() - started), file=sys.stderr)
        _write_stats(args, client)
    if signals.received is not None:
        message, status = STOPS[signal.Signals(signals.received)]
        print(f"{PROG}: {message}", file=sys.stderr)
        return status
    return EXIT_FAILED if failed else EXIT_OK


def _avatar(args: argparse.Namespace) -> int:
    directory = _download_dir(args)
    saved: Optional[SavedAvatar] = None
    with _client(args) as client:
        if directory is None:
            try:
                result: Result = client.get_avatar(args.chat_id)
            except GreenApiError as e:
                result = e
        else:
            with iter_saved_avatars(client, [args.chat_id], directory) as it:
                saved = next(it)
            result = saved.result
        _write_stats(args, client)
    columns = CSV_COLUMNS + PICTURE_COLUMNS if directory is not None else CSV_COLUMNS
    Writer(_utf8_stdout(), "stdout", args.format, header=True, columns=columns).write(
        _record(args.chat_id, result, saved))
    return EXIT_FAILED if isinstance(result, GreenApiError) else EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    reconfigure = getattr(sys.stderr, "reconfigure", None)
    if reconfigure is not None:
        # A message naming a file or an id the terminal's encoding cannot show is still shown.
        reconfigure(errors="backslashreplace")
    parser = _parser()
    args = parser.parse_args(argv)
    undo_verbose = _verbose(args)
    try:
        return _run(parser, args)
    finally:
        undo_verbose()


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    with Signals() as signals:
        try:
            return _avatars(args, signals) if args.command == "avatars" else _avatar(args)
        except UsageError as e:
            parser.exit(EXIT_USAGE, f"{PROG}: error: {e}\n")
        except OutputError as e:
            _silence_stdout()
            print(f"{PROG}: error: {e}", file=sys.stderr)
            return EXIT_WRITE
        except (Stopped, KeyboardInterrupt) as e:
            message, status = STOPS[signal.Signals(e.signum if isinstance(e, Stopped) else signal.SIGINT)]
            print(f"{PROG}: {message}", file=sys.stderr)
            return status
        except BrokenPipeError:
            # The reader went away (`| head`): the batch is stopped, nothing more is said, and
            # the status is a pipeline's for a writer SIGPIPE ended.
            _silence_stdout()
            return EXIT_PIPE
