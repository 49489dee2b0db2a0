"""What an inbox action raises when it refuses its input (the caller answers 400 or 409)."""


class ActionRefused(ValueError):
    """The input cannot be acted on (a message without a sender, an unknown status, a note
    without text ...). The message says why, in words a user can act on."""


class ReplyBlocked(ActionRefused):
    """The channel will not take a free-form message now (e.g. WhatsApp's 24-hour window)."""
