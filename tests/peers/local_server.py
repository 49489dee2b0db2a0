"""The server every HTTP stand-in shares lives in ``frontdesk/ops/demo/peers/local_server.py``."""

from frontdesk.ops.demo.peers.local_server import root_of, start_server, stop_server

__all__ = ["root_of", "start_server", "stop_server"]
