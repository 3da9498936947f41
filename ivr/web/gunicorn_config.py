"""How gunicorn serves the line and the fallback app, one configuration for both:

    gunicorn -c python:ivr.web.gunicorn_config "ivr.wsgi:app"
    gunicorn -c python:ivr.web.gunicorn_config "ivr.fallback:create_fallback_app()"

Read by gunicorn's master at start-up, from the environment; an option given on gunicorn's
command line overrides it. The worker and what it protects against: ivr/web/worker.py.
"""

from __future__ import annotations

import gc
import os
import resource
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ivr.web.worker import ANSWERING_SHARE, OTHER_FILES, connection_slots, waiting_room


def _whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name) or str(default)
    if not text.isdigit() or int(text) < 1:
        raise SystemExit(f"ivr: {name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _listen_queue() -> int:
    """The longest queue of connections not yet taken that the kernel allows (somaxconn)."""
    try:
        return max(2048, int(Path("/proc/sys/net/core/somaxconn").read_text()))
    except (OSError, ValueError):
        return 2048


bind = f"{os.environ.get('HOST') or '0.0.0.0'}:{_whole_number(os.environ, 'PORT', 5000)}"
workers = _whole_number(os.environ, "WEB_CONCURRENCY", 2)
worker_class = "ivr.web.worker.LineWorker"
# Connections each worker lets wait at once, idle or sending their request; past this, the one
# that has waited longest is closed. Each costs about 14 KiB of memory (docs/load-test.md).
worker_connections = _whole_number(os.environ, "WORKER_CONNECTIONS", 10_000)
# Between requests, a connection is kept this long: longer than the 90 s for which Heroku's
# router keeps an idle connection to the app, so the router, not the app, always closes it, and
# never sends a request on a connection that the app is closing.
keepalive = 95
backlog = _listen_queue()
preload_app = True  # the menu is loaded and checked once, before any worker starts
# Webhooks take milliseconds: a stop or a deploy waits at most this long for answers under way,
# and then closes what is left (a request still trickling in, an answer not yet taken).
graceful_timeout = 5
# Two servers on one machine must not disturb each other through a shared control socket.
control_socket_disable = True


def post_fork(server: Any, worker: Any) -> None:
    """What the worker was forked with (the menu, its answers, the libraries) lives as long as
    it does: the garbage collector need not look at it again. Under a crowd, that halves the
    time a worker spends collecting, and shortens its longest pauses."""
    gc.freeze()


def worker_exit(server: Any, worker: Any) -> None:
    """Hands it back before the worker's interpreter shuts down, whose last collection must
    see it all: frozen, some of it would be freed only after the modules it needs are gone."""
    gc.unfreeze()


def on_starting(server: Any) -> None:
    """Raises the open-file limit as far as the system allows: each connection is a file."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    wanted = server.cfg.worker_connections
    needed = int(wanted / (1 - ANSWERING_SHARE)) + OTHER_FILES
    if hard != resource.RLIM_INFINITY and hard < needed:
        server.log.warning(
            "the open-file limit is %d, so each worker can hold %d waiting connections, not "
            "the %d of WORKER_CONNECTIONS: raise the hard limit to %d or more (ulimit -Hn; "
            "LimitNOFILE= for systemd; --ulimit nofile= for Docker)",
            hard,
            waiting_room(wanted, connection_slots()),
            wanted,
            needed,
        )
