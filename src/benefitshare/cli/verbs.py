"""The command line's verb registry, exit statuses and the helpers its verbs share.

Each verb is one function ``cmd_<verb>(args) -> exit status`` plus a parser block, registered in
:data:`VERBS` with the :func:`verb` decorator (see :mod:`benefitshare.cli`).
"""

import argparse
import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from benefitshare.errors import Problem, RuleError, ScenarioError
from benefitshare.io import run_folder as _io

__all__ = [
    "add_set_option",
    "add_force_option",
    "VERBS",
    "Verb",
    "verb",
    "EXIT_OK",
    "EXIT_ERROR",
    "EXIT_INVALID",
    "INPUT_ERRORS",
    "parse_overrides",
    "parse_rules",
    "shown",
    "indent",
    "uncertainty_pngs",
    "add_allow_path",
    "load_options",
]

EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2

#: Errors that mean "the input is wrong": reported without a traceback, exit status 2.
INPUT_ERRORS = (ScenarioError, RuleError, _io.RunFolderError)


@dataclasses.dataclass(frozen=True)
class Verb:
    """A subcommand: its help line, how to add its arguments, and what it does."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


#: The subcommands, by name, in the order ``--help`` lists them.
VERBS: dict[str, Verb] = {}


def verb(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]):
    """Register ``fn(args) -> int`` as the subcommand ``name`` (a decorator)."""

    def register(fn: Callable[[argparse.Namespace], int]):
        VERBS[name] = Verb(name, help, configure, fn)
        return fn

    return register


def parse_overrides(texts: Sequence[str]) -> dict:
    from benefitshare.scenario.load import parse_override

    overrides, problems = {}, []
    for text in texts:
        try:
            key, value = parse_override(text)
        except ScenarioError as exc:
            problems.extend(exc.problems)
            continue
        if not key:
            problems.append(Problem("<overrides>", text, "the field path before '=' is empty"))
            continue
        overrides[key] = value
    if problems:
        raise ScenarioError(problems)
    return overrides


def parse_rules(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise ScenarioError(Problem("<arguments>", "--rules", "give at least one rule name", text))
    return names


def shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def uncertainty_pngs(result, no_charts: bool) -> dict[str, bytes]:
    """Fan chart and NPV distribution of a run with draws (none for a deterministic run)."""
    if no_charts or result.n_draws < 2:
        return {}
    from benefitshare.viz.uncertainty import uncertainty_charts

    return uncertainty_charts(result)


def add_set_option(
    p: argparse.ArgumentParser, help: str = "override a scenario value (repeatable)"
) -> None:
    """The ``--set PATH=VALUE`` option (into ``args.overrides``) of the verbs that load scenarios."""
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE", help=help
    )


def add_force_option(p: argparse.ArgumentParser) -> None:
    """The ``--force`` option of the verbs that write an output folder (see ``check_output_dir``)."""
    p.add_argument(
        "--force",
        action="store_true",
        help="replace an output folder holding files this package did not write (notes, edited "
        "tables, a folder that is not an output); they are moved into the new folder, never "
        "deleted",
    )


def add_allow_path(p: argparse.ArgumentParser) -> None:
    """The ``--allow-path DIR`` option of the verbs that load scenarios."""
    p.add_argument(
        "--allow-path",
        dest="allow_path",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder outside the scenario's own folder that its base and projects files may "
        "be read from (repeatable; also BENEFITSHARE_ALLOW)",
    )


def load_options(args: argparse.Namespace) -> dict:
    """Keyword arguments of ``load_scenario`` from the command line (``--allow-path``)."""
    return {"allow_paths": list(getattr(args, "allow_path", None) or ())}
