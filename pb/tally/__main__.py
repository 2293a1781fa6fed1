"""``python -m pb.tally FILE.pb [--rule R] [--format text|json]``."""

import sys

from pb.tally.cli import main

sys.exit(main())
