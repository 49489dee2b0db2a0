"""Echo chat: a test-only channel that proves the connector contract (issue 11).

It lives in this one folder and is registered only by adding ``"tests.echo_channel"`` to
``FRONTDESK_CONNECTORS`` (``conftest.py`` does it for the tests here). Nothing in
``frontdesk/`` names it: it is connected through the app's connect form, its webhooks come
through the one webhook door, its replies go through the outbox. ``docs/adding-a-channel.md``
was written by following it.
"""
