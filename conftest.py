"""The suite's fixtures, for tests/ and each provider's own tests in
frontdesk/connectors/<provider>/tests/ alike: a conftest applies only to the tests below it,
so the shared ones are plugins loaded from here, the root."""

pytest_plugins = ["tests.fixtures", "tests.browser", "pytester"]
