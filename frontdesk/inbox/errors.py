"""What an inbox action raises when it refuses its input (the caller answers 400 or 409)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from frontdesk.connectors.base import InputRefused

if TYPE_CHECKING:
    from frontdesk.inbox.models import Message


# The input cannot be acted on (a message without a sender, an unknown status, a note
# without text, a reply form's bad address ...); the message says why, in words a user can
# act on. Defined with the connector contract, so that a connector refuses input without
# importing the inbox.
ActionRefused = InputRefused


class ReplyBlocked(ActionRefused):
    """The channel will not take a free-form message now (e.g. WhatsApp's 24-hour window)."""


class ReplyHeld(ActionRefused):
    """A reply written without seeing what came since: ``newer`` holds the messages (a
    client's, a teammate's reply or note) added after the one the member last saw. Nothing
    was queued; sent again with the newest of them as ``after_message_id``, it goes."""

    def __init__(self, newer: list[Message]) -> None:
        self.newer = newer
        count = len(newer)
        super().__init__(
            f"{count} new message{'s' if count != 1 else ''} arrived since you started "
            f"writing: read {'them' if count != 1 else 'it'} first, then send anyway or edit"
        )
