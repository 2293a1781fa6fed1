"""``python -m pb.audit BUNDLE.zip``."""

import sys

from pb.audit.cli import main

sys.exit(main())
