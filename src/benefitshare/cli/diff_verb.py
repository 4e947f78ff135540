"""The ``diff`` verb: what changed between two scenarios or two run folders, and what it does.

.. code-block:: console

    $ benefitshare diff scenarios/reference.toml my_variant.toml
    $ benefitshare diff outputs/reference outputs/variant --format html --out diff.html
"""

import argparse
from pathlib import Path

from benefitshare.cli.verbs import EXIT_OK, add_allow_path, load_options, shown, verb
from benefitshare.errors import Problem, ScenarioError

FORMATS = ("text", "md", "html", "csv")


def _configure_diff(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", metavar="A", help="the old: a scenario TOML file or a run folder")
    p.add_argument("b", metavar="B", help="the new: a scenario TOML file or a run folder")
    add_allow_path(p)
    p.add_argument(
        "--format",
        dest="fmt",
        choices=FORMATS,
        default="text",
        help="text for the terminal, md, html (one page) or csv (one row per change) "
        "(default: %(default)s)",
    )
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of printing")
    p.add_argument(
        "--top",
        type=int,
        default=5,
        metavar="N",
        help="contributors shown in each list (default: %(default)s; csv has all)",
    )


@verb(
    "diff",
    "what changed between two scenarios (or run folders) and what it does to each party",
    _configure_diff,
)
def cmd_diff(args: argparse.Namespace) -> int:
    from benefitshare.analysis.diff import diff_scenarios
    from benefitshare.io.files import atomic_write_text

    out = Path(args.out) if args.out else None
    if out is not None and (out.is_dir() or not out.parent.is_dir()):
        why = "is a folder" if out.is_dir() else "is in a folder that does not exist"
        raise ScenarioError(
            Problem("<arguments>", "--out", f"{why}; give a file in an existing folder", args.out)
        )
    diff = diff_scenarios(args.a, args.b, top=args.top, **load_options(args))
    text = diff.render(args.fmt)
    if out is None:
        print(text, end="" if text.endswith("\n") else "\n")
    else:
        atomic_write_text(out, text)
        print(f"wrote {shown(out)}")
    return EXIT_OK
