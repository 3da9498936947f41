"""Optional: delete a finished call's log from Twilio, so the caller's number is not kept there.

Off unless DELETE_CALL_LOGS=on. Twilio calls /status when a call ends; the deletion then runs
in the background, a few seconds later, once Twilio has finished writing the call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("ivr")

# Statuses after which a call is over and its log complete.
FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


def twilio_deleter(
    account_sid: str, auth_token: str, http_client: object = None
) -> Callable[[str], int]:
    """Deletes a call and the calls it made (the transfer's leg); returns how many."""
    from twilio.rest import Client

    client = Client(account_sid, auth_token, http_client=http_client)

    def delete(call_sid: str) -> int:
        legs = [leg.sid for leg in client.calls.list(parent_call_sid=call_sid)]
        for sid in [*legs, call_sid]:
            client.calls(sid).delete()
        return len(legs) + 1

    return delete


class CallLogDeleter:
    def __init__(self, delete: Callable[[str], int], delay_seconds: float = 5.0) -> None:
        self._delete = delete
        self.delay_seconds = delay_seconds

    def call_ended(self, call_sid: str, status: str) -> bool:
        """Schedule the deletion if the call is over; True if it was scheduled."""
        if status not in FINAL or not call_sid.startswith("CA") or len(call_sid) > 64:
            return False
        thread = threading.Thread(target=self._run, args=(call_sid,), daemon=True)
        thread.start()
        return True

    def _run(self, call_sid: str) -> None:
        time.sleep(self.delay_seconds)
        try:
            count = self._delete(call_sid)
        except Exception as error:
            # Log the failure by type and call id only: the error text may quote the call's data.
            log.error(
                "call=%s could not delete its log from Twilio: %s",
                call_sid[-6:],
                type(error).__name__,
            )
            return
        log.info("call=%s deleted its log from Twilio (%d call record(s))", call_sid[-6:], count)
