#!/usr/bin/env python
"""Django's command-line utility for Autom8."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "autom8_site.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A configuration mistake gets one clear line, not a traceback.
        sys.stderr.write(f"autom8: configuration error: {exc}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
