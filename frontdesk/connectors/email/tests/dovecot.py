"""The Dovecot stand-in lives in ``frontdesk/ops/demo/peers/dovecot.py`` (the demo runs it too)."""

from frontdesk.ops.demo.peers.dovecot import DOVECOT, Dovecot, free_port

__all__ = ["DOVECOT", "Dovecot", "free_port"]
