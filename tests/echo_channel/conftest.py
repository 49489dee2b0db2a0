"""The echo channel is registered for these tests only, through the setting alone."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from tests.echo_channel.peer import EchoServer

ECHO = "tests.echo_channel"


@pytest.fixture(autouse=True)
def echo_registered(settings):
    # pytest-django puts the setting back after the test, and the registry follows it.
    settings.FRONTDESK_CONNECTORS = [*django_settings.FRONTDESK_CONNECTORS, ECHO]


@pytest.fixture
def echo_server():
    server = EchoServer()
    yield server
    server.close()
