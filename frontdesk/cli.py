"""The ``frontdesk`` command: Django's management commands under one name.

``frontdesk run`` (embedded: no services, web processes and the worker in one command),
``web``, ``worker``, ``migrate``, ``demo``, ``createworkspace``, ``createuser``, ``token``
and every other Django command (``frontdesk shell``, ``frontdesk check`` ...).
"""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "frontdesk.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["frontdesk", *sys.argv[1:]])


if __name__ == "__main__":
    main()
