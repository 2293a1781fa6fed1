"""The offline commands, ``audit`` and ``tally``: one dispatch for ``pb`` and ``pb-audit.pyz``.

``pb audit ...``, ``pb tally ...`` and ``python3 pb-audit.pyz audit|tally ...`` all end in
:func:`run`, which hands the rest of the command line, untouched, to :func:`pb.audit.cli.main`
or :func:`pb.tally.cli.main`. Their options, ``--help``, output and exit status are therefore
the same whichever way they are started.

Standard library, :mod:`pb.tally` and :mod:`pb.audit` only (a test checks): this module goes
into the zipapp (:mod:`pb.auditool`), whose ``__main__`` calls :func:`main`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pb import __version__

COMMANDS = ("audit", "tally")

USAGE = f"""\
usage: python3 pb-audit.pyz audit BUNDLE.zip
       python3 pb-audit.pyz tally FILE.pb [OPTIONS]
       python3 pb-audit.pyz COMMAND --help | --version

pb's offline audit and tally (pb {__version__}), with nothing installed but Python >= 3.11:
the same commands, output and exit status as `pb audit` and `pb tally`.

commands:
  audit    verify a ballot bundle: digests, the ballot-log hash chain, every ballot, the
           district .pb files, and the results re-tallied byte for byte (exit 0 only if all hold)
  tally    tally one pabulib (.pb) file
"""


def run(command: str, argv: list[str]) -> int:
    """Run the offline ``command`` ("audit" or "tally") with ``argv`` (the arguments after it);
    return its exit status."""
    if command == "audit":
        from pb.audit.cli import main as audit_main

        audit_status: int = audit_main(argv)
        return audit_status
    if command == "tally":
        from pb.tally.cli import main as tally_main

        tally_status: int = tally_main(argv)
        return tally_status
    raise ValueError(f"not an offline command: {command!r}")


def main(argv: Sequence[str] | None = None) -> int:
    """The command line of ``pb-audit.pyz``: ``audit`` or ``tally`` as ``pb`` runs them, plus
    ``--help`` and ``--version``. A mistake prints one line on stderr and returns 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        return run(args[0], args[1:])
    if args in (["-h"], ["--help"]):
        sys.stdout.write(USAGE)
        return 0
    if args == ["--version"]:
        print(f"pb-audit {__version__}")
        return 0
    problem = f"unknown command {args[0]!r}" if args else "no command given"
    print(f"pb-audit: {problem}: use audit or tally (see --help)", file=sys.stderr)
    return 2
