"""The ``benefitshare`` command line.

Each verb is one function ``cmd_<verb>(args) -> exit status`` plus a parser block, registered in
:data:`VERBS` with the :func:`verb` decorator; adding a verb means adding both. Invalid input (a
scenario error, a bad ``--set`` or ``--rules``, an output name that escapes the output folder)
prints the problems to stderr and exits with status 2 without writing anything; any other error
prints one line (the traceback with ``--debug``) and exits with status 1.

Examples
--------
.. code-block:: console

    $ benefitshare run scenarios/reference.toml --set model.discount_rate=0.05 --name dr5
    $ benefitshare validate scenarios/*.toml
    $ benefitshare report outputs/dr5
"""

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence

from benefitshare.cli.verbs import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    INPUT_ERRORS,
    VERBS,
    verb,
)
from benefitshare.io.run_folder import package_version

# importing the verb modules registers their verbs, in the order --help lists them
# isort: off
from benefitshare.cli import scenario_verbs  # noqa: F401, E402
from benefitshare.cli import analysis_verbs  # noqa: F401, E402
from benefitshare.cli import solve_verb  # noqa: F401, E402
from benefitshare.cli import diff_verb  # noqa: F401, E402
from benefitshare.cli import explain_verb  # noqa: F401, E402

# isort: on

__all__ = ["main", "build_parser", "VERBS", "verb", "EXIT_OK", "EXIT_ERROR", "EXIT_INVALID"]


# ------------------------------------------------------------------------------------ main
def build_parser() -> argparse.ArgumentParser:
    """The argument parser with one subparser per entry of :data:`VERBS`."""
    parser = argparse.ArgumentParser(
        prog="benefitshare",
        description="Tax flows of Shenzhen–Shanwei co-built parks and how split rules divide them.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument(
        "--debug", action="store_true", help="show the traceback of unexpected errors"
    )
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    for v in VERBS.values():
        p = sub.add_parser(v.name, help=v.help, description=v.help)
        p.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the traceback of unexpected errors",
        )
        v.configure(p)
        p.set_defaults(handler=v.handler)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 invalid input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error (already printed)
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_INVALID
    args.argv = argv
    try:
        return args.handler(args)
    except INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a reader that stopped (`| head`): stop quietly
        with contextlib.suppress(OSError, ValueError, AttributeError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:
        if args.debug:
            traceback.print_exc()
        else:
            print(
                f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)",
                file=sys.stderr,
            )
        return EXIT_ERROR
