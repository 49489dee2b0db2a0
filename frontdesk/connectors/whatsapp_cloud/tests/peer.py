"""The Graph API stand-in lives in ``frontdesk/ops/demo/peers/graph.py`` (the demo runs it too)."""

from frontdesk.ops.demo.peers.graph import VERSION, GraphPeer, Media, error_body, sign

__all__ = ["VERSION", "GraphPeer", "Media", "error_body", "sign"]
