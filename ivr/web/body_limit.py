"""Request bodies past a cap are refused with 413, chunked ones included.

A body with a Content-Length is refused before it is read (Flask's MAX_CONTENT_LENGTH). A
chunked body has no length to check up front, and Flask would quietly cut it short instead:
this reads it here, up to the cap, and hands the app a body of known length.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def limit_body(app: WSGIApplication, max_bytes: int) -> WSGIApplication:
    def limited(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if (
            environ.get("CONTENT_LENGTH")
            or "chunked" not in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            return app(environ, start_response)
        body = environ["wsgi.input"].read(max_bytes + 1)
        if len(body) > max_bytes:
            start_response("413 Request Entity Too Large", [("Content-Type", "text/plain")])
            return [b"request body too large\n"]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        # No longer chunked: werkzeug would otherwise ignore the length and read nothing.
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ.pop("wsgi.input_terminated", None)
        return app(environ, start_response)

    return limited
