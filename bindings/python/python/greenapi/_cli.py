"""The ``greenapi`` command line (also ``python -m greenapi``).

    greenapi avatars [FILE|-] [--output FILE [--resume]] [--format json|csv] [client options]
    greenapi avatar CHAT_ID [--format json|csv] [client options]

Chat ids are read one per line (blank lines and lines starting with ``#`` skipped); one record
per chat id is written as its result completes, flushed at once, so nothing finished is lost
when the run is stopped. Credentials come from the environment only: argv is visible to every
user of the machine. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import signal
import sys
import time
from types import FrameType
from typing import IO, Any, Callable, Dict, List, Optional, Sequence, Set, Tuple, Union

from ._errors import GreenApiError
from ._native import Avatar, AvatarIterator, Client, __version__

__all__ = ["main"]

PROG = "greenapi"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

CSV_COLUMNS = ["chatId", "existsWhatsapp", "available", "urlAvatar", "reason", "error", "httpStatus", "message"]

Record = Dict[str, Any]
Result = Union[Avatar, GreenApiError]

ENVIRONMENT = """\
environment:
  GREEN_API_ID_INSTANCE  the instance id (required)
  GREEN_API_TOKEN        the instance's apiTokenInstance (required; there is no option for it,
                         since a command line is visible to every user of the machine)
  GREEN_API_URL          the instance's apiUrl (default https://api.green-api.com)
  https_proxy, ALL_PROXY, NO_PROXY  used when --proxy is not given

exit status: 0 every chat id got an answer, 1 some failed, 2 bad usage, 130 interrupted (Ctrl-C)
"""

AVATARS_EPILOG = (
    """\
Each line written is a JSON object: {"chatId", "existsWhatsapp", "available", "urlAvatar",
"reason"} for an answer (a field the service did not send is null), or {"chatId", "error":
{"code", "httpStatus", "message"}} when there is none. With --format csv the same columns:
chatId,existsWhatsapp,available,urlAvatar,reason,error,httpStatus,message. Lines come in the
order results complete. A progress bar goes to stderr when it is a terminal.

Ctrl-C stops the run: every line finished is written, the exit status is 130; run again with
--resume to ask only the chat ids without an answer.

"""
    + ENVIRONMENT
)


class UsageError(Exception):
    """Bad usage found after argument parsing: exit status 2, the message on stderr."""


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
                       help="requests in flight at once (default 8; 1 to 256)"),
        g.add_argument("--proxy", metavar="URL",
                       help='proxy URL (http:// or https://); "" for none (default: from the environment)'),
        g.add_argument("--ca-file", metavar="PEM",
                       help="PEM file of root certificates trusted in addition to the built-in ones"),
        g.add_argument("--user-agent", metavar="TEXT", help="User-Agent header (default greenapi/<version>)"),
        g.add_argument("--max-body-bytes", type=int, metavar="BYTES",
                       help="largest response body read (default 1048576)"),
        g.add_argument("--allow-insecure-http", action="store_true", default=None,
                       help="allow http:// to a host that is not loopback"),
    ]
    p.set_defaults(client_options=[action.dest for action in options])
    p.add_argument("--format", choices=["json", "csv"], default="json",
                   help="json: one object per line (default); csv: a header, then one row per chat id")
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
        description="Asks for the avatar of every chat id in FILE (or stdin), one per line; blank "
        "lines and lines starting with # are skipped. Paced to --rate-limit, with up to "
        "--max-in-flight requests at once.",
        epilog=AVATARS_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    many.add_argument("file", nargs="?", default="-", metavar="FILE",
                      help="chat ids, one per line; - or nothing: stdin")
    many.add_argument("-o", "--output", metavar="FILE", help="write the records to FILE instead of stdout")
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
        raise UsageError(str(e)) from None


# ---- records ----------------------------------------------------------------------------------


def _record(chat_id: str, result: Result) -> Record:
    if isinstance(result, GreenApiError):
        return {"chatId": chat_id,
                "error": {"code": result.code, "httpStatus": result.http_status, "message": str(result)}}
    return {
        "chatId": chat_id,
        "existsWhatsapp": result.exists_whatsapp,
        "available": result.available,
        "urlAvatar": result.url_avatar,
        "reason": result.reason,
    }


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _csv_row(record: Record) -> List[str]:
    error = record.get("error") or {}
    flat = dict(record, error=error.get("code"), httpStatus=error.get("httpStatus"), message=error.get("message"))
    return [_csv_cell(flat.get(column)) for column in CSV_COLUMNS]


class Writer:
    """Writes records one per line, each flushed at once, as JSON lines or CSV."""

    def __init__(self, stream: IO[str], fmt: str, header: bool) -> None:
        self._stream = stream
        self._fmt = fmt
        if fmt == "csv" and header:
            self._write_csv(CSV_COLUMNS)

    def _write_csv(self, row: List[str]) -> None:
        line = io.StringIO()
        csv.writer(line, lineterminator="\n").writerow(row)
        self._emit(line.getvalue())

    def _emit(self, line: str) -> None:
        # One write per line: a run killed mid-way leaves at most one line without its "\n".
        self._stream.write(line)
        self._stream.flush()

    def write(self, record: Record) -> None:
        if self._fmt == "csv":
            self._write_csv(_csv_row(record))
        else:
            self._emit(json.dumps(record) + "\n")


def _answered(lines: List[str], fmt: str) -> Set[str]:
    """The chat ids that have an answer (not an error) in the complete lines of an output file."""
    done: Set[str] = set()
    if fmt == "csv":
        for row in csv.DictReader(lines):
            # A row with too few or too many cells is not one this program wrote whole.
            if None in row or None in row.values():
                continue
            if row["chatId"] and not row["error"]:
                done.add(row["chatId"])
        return done
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("chatId"), str) and "error" not in record:
            done.add(record["chatId"])
    return done


def _looks_like(first_line: str, fmt: str) -> bool:
    """Whether the first line of an output file is one this program writes in ``fmt``."""
    if fmt == "csv":
        return first_line.rstrip("\r\n") == ",".join(CSV_COLUMNS)
    return first_line.lstrip().startswith("{")


def _open_for_resume(path: str, fmt: str) -> Tuple[IO[str], Set[str], bool]:
    """Opens an output file to append to: (file, chat ids answered in it, whether it is empty).

    A last line without its newline was cut short by a kill in the middle of a write: it is
    removed, so its chat id is asked again and the next line does not run into it."""
    with open(path, "a+b") as f:
        f.seek(0)
        data = f.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            f.truncate(end)
    lines = data[:end].decode("utf-8", errors="replace").splitlines(keepends=True)
    if lines and not _looks_like(lines[0], fmt):
        raise UsageError(f"{path} is not {fmt} output of {PROG}; --resume continues a file of the same --format")
    stream = open(path, "a", encoding="utf-8", newline="")
    return stream, _answered(lines, fmt), end == 0


# ---- input ------------------------------------------------------------------------------------


def _read_chat_ids(source: str) -> List[str]:
    try:
        if source == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(source, "rb") as f:
                data = f.read()
        text = data.decode("utf-8-sig")
    except OSError as e:
        raise UsageError(f"cannot read {source}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{'stdin' if source == '-' else source} is not UTF-8 text") from None
    ids = []
    for line in text.splitlines():
        chat_id = line.strip()
        if chat_id and not chat_id.startswith("#"):
            ids.append(chat_id)
    return ids


# ---- the progress bar -------------------------------------------------------------------------


def _duration(seconds: float) -> str:
    s = int(seconds + 0.5)
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


class Progress:
    """done/total, a bar, the rate and the time left, redrawn on one line of a terminal at most
    ten times a second (and at the end). Silent when the stream is not a terminal."""

    def __init__(self, stream: IO[str], total: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._total = total
        self._clock = clock
        self._start = clock()
        self._drawn = -1.0
        self._done = 0
        self._drawn_done = -1
        self._active = total > 0 and stream.isatty()

    def update(self, done: int) -> None:
        self._done = done
        now = self._clock()
        if self._active and (done >= self._total or now - self._drawn >= 0.1):
            self._drawn = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self._start
        rate = self._done / elapsed if elapsed > 0 else 0.0
        eta = _duration((self._total - self._done) / rate) if rate > 0 else "--:--"
        counts = f"{self._done}/{self._total}"
        tail = f" {rate:.1f}/s ETA {eta}"
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


class Interrupt:
    """A SIGINT handler for the batch: it asks the batch to stop (no exception raised, so a
    result already taken is never lost between being handed out and being written) and
    remembers that it did. A program started with SIGINT ignored keeps ignoring it."""

    def __init__(self) -> None:
        self.requested = False
        self._batch: Optional[AvatarIterator] = None
        self._installed = False
        self._previous: Any = None

    def __enter__(self) -> Interrupt:
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            # None: the handler was not set from Python; the default is the closest there is.
            signal.signal(signal.SIGINT, signal.SIG_DFL if self._previous is None else self._previous)

    def watch(self, batch: AvatarIterator) -> None:
        self._batch = batch
        if self.requested:
            batch._cancel()

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        if self.requested:
            # A second Ctrl-C: the user does not want to wait for the batch to wind down.
            raise KeyboardInterrupt
        self.requested = True
        if self._batch is not None:
            self._batch._cancel()


def _avatars(args: argparse.Namespace) -> int:
    if args.resume and not args.output:
        raise UsageError("--resume needs --output FILE (the file to continue)")
    chat_ids = _read_chat_ids(args.file)
    client = _client(args)
    answered: Set[str] = set()
    try:
        if args.output and args.resume:
            out, answered, empty = _open_for_resume(args.output, args.format)
        elif args.output:
            out, empty = open(args.output, "w", encoding="utf-8", newline=""), True
        else:
            out, empty = sys.stdout, True
    except OSError as e:
        raise UsageError(f"cannot write {args.output}: {e.strerror or e}") from None
    todo = [chat_id for chat_id in chat_ids if chat_id not in answered]
    failed = 0
    with client, Interrupt() as interrupt:
        try:
            writer = Writer(out, args.format, header=empty)
            progress = Progress(sys.stderr, len(todo))
            batch = client.iter_avatars(todo)
            interrupt.watch(batch)
            try:
                for done, (chat_id, result) in enumerate(batch, 1):
                    failed += isinstance(result, GreenApiError)
                    writer.write(_record(chat_id, result))
                    progress.update(done)
            finally:
                batch.close()
                progress.finish()
        finally:
            if out is not sys.stdout:
                out.close()
    if interrupt.requested:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed else EXIT_OK


def _avatar(args: argparse.Namespace) -> int:
    with _client(args) as client:
        try:
            result: Result = client.get_avatar(args.chat_id)
        except GreenApiError as e:
            result = e
    Writer(sys.stdout, args.format, header=True).write(_record(args.chat_id, result))
    return EXIT_FAILED if isinstance(result, GreenApiError) else EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _avatars(args) if args.command == "avatars" else _avatar(args)
    except UsageError as e:
        parser.exit(EXIT_USAGE, f"{PROG}: error: {e}\n")
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): say nothing more, and let the interpreter's own
        # flush at exit write nowhere.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
