"""The Unipile stand-in lives in ``frontdesk/ops/demo/peers/unipile.py`` (the demo runs it too)."""

from frontdesk.ops.demo.peers.unipile import API_KEY, UnipilePeer, iso, v2_signature, with_query

__all__ = ["API_KEY", "UnipilePeer", "iso", "v2_signature", "with_query"]
