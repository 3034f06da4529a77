"""`feature-platform init DIR`: a new feature repository that works before it is changed.

A team's features live in their own repository, not in this package. The scaffold gives them
one that runs end to end from the first minute: a package with one feature group over a week of
sample click events shipped as hive-partitioned Parquet (`ParquetSource`), the Dagster code
location (`build_definitions`), a `workspace.yaml`, and a test that materializes a partition
through Dagster and reads it back. The files are templates shipped as package data (`templates/`,
``$name`` placeholders); the sample is generated here, deterministically.
"""

from __future__ import annotations

import datetime as dt
import keyword
import re
import string
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from feature_platform.errors import ConfigurationError
from feature_platform.orchestration.instance import write_instance_yaml

GROUP = "user_clicks"
SAMPLE_DAYS = 7  # the sample is the last week before `init` ran, so it is live for the ttl
ROWS_PER_DAY = 200
USERS = 40
ARTICLES = 60
SEED = 20260101

_PACKAGE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# Names the new package must not shadow: it would be imported instead of the real module.
_TAKEN = frozenset({"feature_platform", "dagster", "polars", "pyarrow", "pyiceberg", "tests"})

# Template (relative to `templates/`) -> file in the new repository; "package" is the package.
_FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "workspace.yaml.tmpl": "workspace.yaml",
    "gitignore.tmpl": ".gitignore",
    "package/__init__.py.tmpl": "{package}/__init__.py",
    "package/features.py.tmpl": "{package}/features.py",
    "package/definitions.py.tmpl": "{package}/definitions.py",
    "tests/test_features.py.tmpl": "tests/test_features.py",
}


@dataclass(frozen=True)
class Scaffold:
    """What `create_repository` wrote."""

    root: Path
    package: str
    files: tuple[Path, ...]
    partition: str  # a partition whose input is all in the sample

    @property
    def group(self) -> str:
        return GROUP


def package_name(directory: Path, name: str | None = None) -> str:
    """`name`, or the folder's name as a Python package name (``my-features`` -> ``my_features``).

    Raises:
        ConfigurationError: The name is not a lowercase identifier, is a keyword, or would
            shadow a module the repository imports.
    """
    candidate = name if name is not None else directory.name.lower().replace("-", "_")
    if (
        not _PACKAGE_NAME.match(candidate)
        or keyword.iskeyword(candidate)
        or candidate in _TAKEN
        or candidate in sys.stdlib_module_names
    ):
        hint = "pass --name" if name is None else "choose another --name"
        raise ConfigurationError(
            f"{candidate!r} cannot be the repository's Python package: it must be a lowercase "
            f"identifier (letters, digits, _) that is not a keyword nor the name of a module it "
            f"imports ({', '.join(sorted(_TAKEN))}, the standard library); {hint}"
        )
    return candidate


def create_repository(
    directory: str | Path, name: str | None = None, today: dt.date | None = None
) -> Scaffold:
    """Write a new feature repository into `directory` (created if missing; must be empty).

    The sample covers the week before `today` (default: the current UTC day), so its newest
    values are within the group's ttl and an online read right after the first backfill finds
    them; the rows themselves come from a fixed seed.

    Raises:
        ConfigurationError: `directory` is a file or not empty, or the package name is invalid.
    """
    root = Path(directory).expanduser().resolve()
    package = package_name(root, name)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise ConfigurationError(
            f"{root} is not an empty folder; `init` writes a new repository only into a new or "
            "empty folder, so that nothing of yours is overwritten"
        )
    today = today or dt.datetime.now(dt.UTC).date()
    first_day = today - dt.timedelta(days=SAMPLE_DAYS)
    last_day = today - dt.timedelta(days=1)
    partition = (first_day + dt.timedelta(days=1)).isoformat()
    values = {
        "package": package,
        "group": GROUP,
        "partition": partition,
        "rows_per_day": str(ROWS_PER_DAY),
        "first_day": first_day.isoformat(),
        "last_day": last_day.isoformat(),
        "start_year": str(first_day.year),
        "start_month": str(first_day.month),
        "start_day": str(first_day.day),
        **_dependency_source(),
    }
    templates = resources.files(__name__).joinpath("templates")
    written = []
    for template, target in _FILES.items():
        text = string.Template(templates.joinpath(template).read_text("utf-8"))
        path = root / target.format(package=package)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.substitute(values), encoding="utf-8")
        written.append(path)
    written.extend(write_sample_events(root / "data" / "events", first_day))
    # The Dagster instance the README's commands use (DAGSTER_HOME must exist); not committed.
    write_instance_yaml(root / ".feature_platform" / "dagster")
    return Scaffold(root, package, tuple(written), partition)


def _dependency_source() -> dict[str, str]:
    """How the new repository finds feature_platform: this checkout, if it is one.

    Not on a package index (yet), feature_platform is installed from its source folder; uv reads
    the folder from ``[tool.uv.sources]``. From an installed wheel no folder is known, so the
    README says how to add it.
    """
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "pyproject.toml").is_file() and (checkout / "feature_platform").is_dir():
        return {
            "sources": (
                "# feature_platform is installed from its source folder (move it? update this).\n"
                "[tool.uv.sources]\n"
                f'feature_platform = {{ path = "{checkout.as_posix()}", editable = true }}\n'
            ),
            "source_note": (
                f"`pyproject.toml` installs feature_platform from `{checkout}` "
                "(`[tool.uv.sources]`); change that path if the folder moves."
            ),
        }
    return {
        "sources": (
            "# Point uv at feature_platform's source folder (or a wheel), for example:\n"
            "# [tool.uv.sources]\n"
            '# feature_platform = { path = "../feature_platform", editable = true }\n'
        ),
        "source_note": (
            "feature_platform must be installable: uncomment `[tool.uv.sources]` in "
            "`pyproject.toml` and set the path of its source folder (or install it into the "
            "environment first)."
        ),
    }


def write_sample_events(folder: Path, first_day: dt.date) -> list[Path]:
    """A week of click events, one hive folder per day: ``dt=YYYY-MM-DD/part-0.parquet``.

    Deterministic (a seeded generator), so the scaffold's test can check exact counts.
    Columns: `event_time` (UTC), `user_id`, `article_id`, `dwell_seconds`.
    """
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(SEED)
    written = []
    for offset in range(SAMPLE_DAYS):
        day = first_day + dt.timedelta(days=offset)
        start = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        micros = np.sort(rng.integers(0, 86_400_000_000, ROWS_PER_DAY))
        events = pl.DataFrame(
            {
                "event_time": pl.Series(micros).cast(pl.Duration("us")) + start,
                "user_id": [f"u{n:03d}" for n in rng.integers(0, USERS, ROWS_PER_DAY)],
                "article_id": [f"a{n:03d}" for n in rng.integers(0, ARTICLES, ROWS_PER_DAY)],
                "dwell_seconds": np.round(rng.gamma(2.0, 20.0, ROWS_PER_DAY), 1),
            }
        )
        path = folder / f"dt={day.isoformat()}" / "part-0.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        events.write_parquet(path)
        written.append(path)
    return written
