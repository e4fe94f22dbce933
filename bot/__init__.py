"""Application wiring: settings, ``build_application()``, the CLI, the i18n catalogues."""

import os

# python-telegram-bot 22 returns time periods (e.g. RetryAfter.retry_after) as ints with a
# deprecation warning unless this is set; v23 returns timedelta. Opt in now; our code takes both.
os.environ.setdefault("PTB_TIMEDELTA", "true")
