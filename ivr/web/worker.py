"""The gunicorn worker the line and the fallback app run in: gevent's, with deadlines, and room
that a crowd of held connections cannot fill.

gevent's own worker gives each connection a greenlet from a pool of `worker_connections`, and
times only the wait for a request's header: a body may trickle in, or never come, for as long as
the client likes, and a crowd holding `worker_connections` connections per worker keeps every
other client, Twilio included, waiting in the kernel's queue. This worker:

- gives each request, from its first byte, REQUEST_SECONDS to arrive whole, header and body,
  however it trickles; past that it answers 408 and closes the connection;
- gathers each request, its header and a body of known length up to the line's cap, before
  gunicorn parses any of it: a request that never arrives whole costs no parsing, and the app
  never waits on a client; a header over MAX_HEAD_BYTES is refused (431);
- gives each answer ANSWER_SECONDS to be taken by the client;
- keeps a connection open between requests for `keepalive` seconds;
- lets `worker_connections` connections wait at once (idle, or sending their request); one more,
  and the connection that has waited longest is closed to make room, one sending a request
  before an idle one, never one that has waited less than YOUNGEST_CLOSED. The pool itself is as
  large as the open-file limit allows, so the worker never stops taking new connections while
  there is one to close: a crowd can only push itself out;
- lets every other connection run before it reads a request, so that no client has it to itself.

What it refuses is counted for the log's summary (ivr.web.refusals), never logged on its own:
gunicorn's own warning about a request it cannot read would quote the request.
"""

from __future__ import annotations

import contextlib
import io
import random
import re
import resource
import socket
import time
from collections import OrderedDict
from typing import Any

import gevent
from gunicorn import util
from gunicorn.http.body import LengthReader
from gunicorn.http.errors import (
    ConfigurationProblem,
    ExpectationFailed,
    ForbiddenProxyRequest,
    InvalidResponseHeader,
    InvalidResponseHeaderName,
    LimitRequestHeaders,
    LimitRequestLine,
    ParseException,
    UnsupportedTransferCoding,
)
from gunicorn.workers.ggevent import GeventWorker

from ivr.web.refusals import CROWDED_OUT, HEAD_LARGE, MALFORMED, NOT_READ, TOO_SLOW, refused
from ivr.web.webhook import MAX_BODY

# Twilio, and any router in front, sends a webhook's few kilobytes at once.
REQUEST_SECONDS = 5.0
# Each deadline is longer by up to this share, at random: a crowd that connected at once is not
# closed at once, and does not all come back at once.
SPREAD = 0.5
# Twilio's header is 1 or 2 KiB, a router's additions a few hundred bytes more. gunicorn's own
# limits allow 800 KiB, which its parser, scanning the whole head again at each read, takes
# tens of milliseconds over.
MAX_HEAD_BYTES = 16 * 1024
# The largest recording is under 150 KB: taken in well under a second, even slowly.
ANSWER_SECONDS = 20.0
# A connection is never closed to make room before it has waited as long as a request may take:
# a client that has just connected is about to send its request, and a crowd pushed out sooner
# would only come back sooner, costing the worker more.
YOUNGEST_CLOSED = REQUEST_SECONDS
# Open files a worker needs besides its connections: the listening socket, the log, the usage
# store, gevent's own.
OTHER_FILES = 100
# Room kept, above the waiting connections, for those whose request is being answered.
ANSWERING_SHARE = 0.1

# What gunicorn answers a request it cannot read, when not 400; and its faults, not the client's.
CLIENT_FAULTS = {
    LimitRequestLine: (414, "URI Too Long"),
    LimitRequestHeaders: (431, "Request Header Fields Too Large"),
    UnsupportedTransferCoding: (501, "Not Implemented"),
    ExpectationFailed: (417, "Expectation Failed"),
    ForbiddenProxyRequest: (403, "Forbidden"),
}
SERVER_FAULTS = (ConfigurationProblem, InvalidResponseHeader, InvalidResponseHeaderName)
CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*(\d{1,9})[ \t]*(?=\r\n)", re.I)
HAS_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:", re.I)
# A body sent in chunks, or only once the server says "100 Continue": the parser's to read.
READ_BY_THE_PARSER = re.compile(rb"\r\n(transfer-encoding|expect)[ \t]*:", re.I)
TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\nContent-Length: 0"
    b"\r\n\r\n"
)


def connection_slots() -> int:
    """How many connections a worker can hold, by its open-file limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1_000_000
    return max(10, soft - OTHER_FILES)


def waiting_room(wanted: int, slots: int) -> int:
    """How many connections may wait at once: as many as wanted, leaving room for answers."""
    return max(1, min(wanted, int(slots * (1 - ANSWERING_SHARE))))


class Room:
    """The connections of one worker that wait: idle, or sending their request."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.idle: OrderedDict[Connection, float] = OrderedDict()  # oldest first
        self.sending: OrderedDict[Connection, float] = OrderedDict()

    def waits(self, connection: Connection) -> None:
        """`connection` waits for its next request."""
        self.idle[connection] = time.monotonic()
        self.sending.pop(connection, None)
        excess = len(self.idle) + len(self.sending) - self.size
        for _ in range(excess):
            victim = self._longest_waiting()
            if victim is None:
                break  # every one just came: the pool's own limit holds the line
            victim.close_to_make_room()

    def sends(self, connection: Connection) -> None:
        """`connection` has begun to send its request."""
        self.idle.pop(connection, None)
        self.sending[connection] = time.monotonic()

    def leaves(self, connection: Connection) -> None:
        """`connection` waits no longer: its request is being answered, or it is closed."""
        self.idle.pop(connection, None)
        self.sending.pop(connection, None)

    def close_idle(self) -> None:
        """At shutdown: nobody is sending on an idle connection, so it need not be waited for."""
        for connection in list(self.idle):
            connection.close_to_make_room(counted=False)

    def _longest_waiting(self) -> Connection | None:
        now = time.monotonic()
        for queue in (self.sending, self.idle):
            if queue:
                connection, since = next(iter(queue.items()))
                if now - since >= YOUNGEST_CLOSED:
                    return connection
        return None


class Connection:
    """A client's socket, whose reads and writes keep to the worker's deadlines.

    A new request is gathered here, its header and a body of known length, before gunicorn's
    parser sees a byte of it: a request that never arrives whole costs the worker no parsing.
    """

    def __init__(self, sock: Any, room: Room, idle_seconds: float) -> None:
        self.sock = sock
        self.room = room
        self.idle_seconds = idle_seconds
        self.buffer = b""  # gathered, not yet read by the parser
        # Bytes past the request gathered: the next one's, pipelined. Kept from the parser,
        # which would hold them where the next request's gathering cannot see them.
        self.following = b""
        self.sending = False  # the request's first byte has come
        self.gathered = False  # the request is whole, as far as its header says
        self.answering = False
        self.closed = False
        self.deadline = time.monotonic() + idle_seconds
        room.waits(self)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)

    def recv(self, size: int) -> bytes:
        if not (self.gathered or self.answering or self.closed):
            self._gather()
        if not self.buffer and self.following:
            # The parser wants more of this request than its header said: give it in order.
            self.buffer, self.following = self.following, b""
        if self.buffer:
            data, self.buffer = self.buffer[:size], self.buffer[size:]
            return data
        if self.closed:
            return b""
        if self.answering:
            return bytes(self.sock.recv(size))
        return self._recv(size) or b""  # a body the parser reads, within the request's deadline

    def _gather(self) -> None:
        """Reads until the request is whole: its header, and the body its Content-Length says
        (a chunked body, or one over the cap, is the parser's to read). On time out, or past the
        header's cap, it is refused and the connection closed."""
        data = bytearray(self.buffer + self.following)
        self.following = b""
        wanted, whole = None, False
        while True:
            if wanted is None and (end := data.find(b"\r\n\r\n")) >= 0:
                wanted, whole = _whole_length(bytes(data[: end + 2]), end + 4)
            if wanted is not None and len(data) >= wanted:
                break
            if wanted is None and len(data) > MAX_HEAD_BYTES:
                self._refuse(HEAD_LARGE, HEAD_TOO_LARGE)
                return
            chunk = self._recv(65536)
            if self.closed:
                return  # refused, or closed to make room: the parser finds nothing
            if not chunk:
                break  # the client hung up: the parser finds what there is
            data += chunk
        cut = wanted if whole and wanted is not None else len(data)
        self.buffer, self.following = bytes(data[:cut]), bytes(data[cut:])
        self.gathered = True

    def _recv(self, size: int) -> bytes | None:
        """One read within the deadline; None (and the connection closed) past it."""
        if self.closed:
            return None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            self._out_of_time()
            return None
        self.sock.settimeout(remaining)
        try:
            data: bytes = self.sock.recv(size)
        except TimeoutError:
            self._out_of_time()
            return None
        except OSError:
            if self.closed:
                return None  # closed to make room while it waited
            raise
        finally:
            self.sock.settimeout(None)
        if data and not self.sending:
            self.request_begins()
        return data

    def _out_of_time(self) -> None:
        """An idle connection just closes; a request half sent is told why."""
        if self.sending:
            self._refuse(TOO_SLOW, TIMED_OUT)
        self.closed = True

    def _refuse(self, reason: str, answer: bytes) -> None:
        """Answers `answer` and reads no more: to the parser, the client has hung up."""
        refused.count(reason)
        with contextlib.suppress(OSError):
            self.sock.setblocking(False)
            self.sock.send(answer)
        self.closed = True
        self.buffer = self.following = b""

    def request_begins(self) -> None:
        """The request's first byte: from here it has REQUEST_SECONDS to arrive whole."""
        if not self.sending:
            self.sending = True
            self.deadline = time.monotonic() + REQUEST_SECONDS * (1 + SPREAD * random.random())
            self.room.sends(self)

    def answer_begins(self) -> None:
        """The request is whole: the app answers it, with no deadline but its own."""
        self.answering = True
        self.room.leaves(self)

    def answer_ends(self) -> None:
        """Answered: the connection waits for the next request."""
        self.answering = self.sending = self.gathered = False
        self.buffer, self.following = self.buffer + self.following, b""
        if self.buffer:
            self.request_begins()  # the next one has begun already
        self.deadline = time.monotonic() + self.idle_seconds
        self.room.waits(self)

    def close_to_make_room(self, counted: bool = True) -> None:
        """Closes a waiting connection: its reads end as though the client had hung up."""
        self.room.leaves(self)
        self.closed = True
        if counted:
            refused.count(CROWDED_OUT)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def send(self, data: bytes, *args: Any) -> int:
        sent: int = self._sending_answer(self.sock.send, data, *args)
        return sent

    def sendall(self, data: bytes, *args: Any) -> None:
        self._sending_answer(self.sock.sendall, data, *args)

    def sendfile(self, *args: Any, **kwargs: Any) -> int:
        sent: int = self._sending_answer(self.sock.sendfile, *args, **kwargs)
        return sent

    def _sending_answer(self, send: Any, *args: Any, **kwargs: Any) -> Any:
        self.sock.settimeout(ANSWER_SECONDS)
        try:
            return send(*args, **kwargs)
        except TimeoutError:
            refused.count(NOT_READ)
            raise
        finally:
            self.sock.settimeout(None)


class LineWorker(GeventWorker):  # type: ignore[misc]
    """gunicorn's gevent worker, with the deadlines and the waiting room above."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        slots = connection_slots()
        self.room = Room(waiting_room(self.cfg.worker_connections, slots))
        self.worker_connections = slots  # the pool: every connection, waiting or answered

    def timeout_ctx(self) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()  # each Connection keeps its own time

    def handle(self, listener: Any, client: Any, addr: Any) -> None:
        connection = Connection(client, self.room, self.cfg.keepalive)
        try:
            super().handle(listener, connection, addr)
        finally:
            self.room.leaves(connection)

    def handle_request(self, listener_name: Any, req: Any, sock: Any, addr: Any) -> None:
        connection: Connection = sock
        # A client whose next request is always there already would never make gevent's reads
        # wait, and would have the worker to itself: every request lets the others run first.
        gevent.sleep(0)
        connection.request_begins()
        if not _read_body(req, connection):
            raise StopIteration()
        connection.answer_begins()
        try:
            super().handle_request(listener_name, req, sock, addr)
        except TimeoutError:
            raise StopIteration() from None  # the answer was not taken in time (counted)
        connection.answer_ends()

    def handle_exit(self, sig: Any, frame: Any) -> None:
        super().handle_exit(sig, frame)
        # Outside the signal handler: the room may be in the middle of a change.
        gevent.spawn(self.room.close_idle)

    def handle_error(self, req: Any, client: Any, addr: Any, exc: BaseException) -> None:
        """Answers a request gunicorn could not read without quoting it, here or in the log."""
        if isinstance(exc, gevent.GreenletExit):
            return  # stopped at shutdown
        if isinstance(exc, ParseException) and not isinstance(exc, SERVER_FAULTS):
            refused.count(MALFORMED)
            status, reason = CLIENT_FAULTS.get(type(exc), (400, "Bad Request"))
        else:
            # Not the client's doing: the trace names code; gunicorn's own line names the URL.
            self.log.exception("a request could not be served")
            status, reason = 500, "Internal Server Error"
        with contextlib.suppress(Exception):
            util.write_error(client, status, reason, "")


def _whole_length(head: bytes, head_length: int) -> tuple[int, bool]:
    """How many bytes make the whole request whose header (without its last CRLF) is `head`,
    and whether that is all of it (what follows is the next request's): the header alone, not
    all of it, when the body is chunked, awaits "100 Continue", is over the cap, or is of no
    length that can be read (the parser then reads it, or refuses the request)."""
    if READ_BY_THE_PARSER.search(head):
        return head_length, False
    lengths = CONTENT_LENGTH.findall(head)
    if not lengths and not HAS_CONTENT_LENGTH.search(head):
        return head_length, True  # no body
    if len(lengths) != 1 or int(lengths[0]) > MAX_BODY:
        return head_length, False
    return head_length + int(lengths[0]), True


def _read_body(req: Any, connection: Connection) -> bool:
    """Reads the request's body into memory, within its deadline; False if it did not come.

    A body over the cap is left unread, for the app to refuse, and the connection is then
    closed rather than drained.
    """
    reader = getattr(req.body, "reader", None)
    if isinstance(reader, LengthReader) and reader.length > MAX_BODY:
        req._expected_100_continue = False  # refused without asking for the body
        req.force_close()
        return True
    if reader is None or (isinstance(reader, LengthReader) and reader.length == 0):
        return True
    if getattr(req, "_expected_100_continue", False):
        # gunicorn would say "100 Continue" only once the app reads the body: say it now.
        connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        req._expected_100_continue = False
    expected = reader.length if isinstance(reader, LengthReader) else None
    body = req.body.read(MAX_BODY + 1)
    if connection.closed or (expected is not None and len(body) < expected):
        return False  # too slow (counted), closed to make room, or the client hung up
    if len(body) > MAX_BODY:
        req.force_close()  # a chunked body past the cap: the app refuses it, the rest is not read
    req.body = io.BytesIO(body)
    return True
