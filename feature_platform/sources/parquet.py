"""`ParquetSource`: Parquet files in a local folder or under an ``s3://`` prefix.

Most raw data lands as Parquet files in one folder per time partition, so the window decides
which folders are read at all: only the partitions overlapping it are listed, and the time
filter is pushed into the Parquet scan (row groups whose statistics miss the window are
skipped). A partition has arrived when its folder exists (and, if the producer writes one, its
success marker), which is the completeness evidence; a folder with no rows is a quiet period,
complete.

Layouts (folder names are formatted from each partition's start, in UTC):

- ``hive`` (default): ``key=value`` folders, ``dt=2026-11-20/`` for daily partitions and
  ``dt=2026-11-20/hour=13/`` for hourly ones; `partition_template` may rename them
  (``date={date:%Y-%m-%d}``).
- ``template``: any folders, e.g. ``{date:%Y/%m/%d}`` or ``{date:%Y/%m/%d/%H}``.
- ``flat``: files anywhere under `path`, not arranged by time; every read lists all of them
  (the time filter still skips row groups), and completeness is a watermark: the newest event
  time in the files minus `allowed_lateness`.

Files and folders whose names start with ``_`` or ``.`` (``_SUCCESS``, ``_temporary/``,
``.crc``) are not data, as in Hadoop and Spark. A partitioned layout must be partitioned by the
time column: a row in a folder whose partition does not hold its time is refused (data laid
out by arrival date is `flat`).
"""

from __future__ import annotations

import datetime as dt
import os
import string
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal, get_args

import polars as pl
import pyarrow.fs as pafs

from feature_platform.errors import InvalidSpecError
from feature_platform.sources.base import (
    DEFAULT_START,
    DEFAULT_TIME_COLUMN,
    Completeness,
    SourceObservation,
    frozen_pairs,
    normalise_common_fields,
    partition_key,
    partition_windows,
    source_error,
    validated_columns,
    validated_lateness,
)
from feature_platform.sources.rows import (
    UTC_TIME,
    check_time_dtype,
    checked_rows,
    utc_time,
    window_filter,
)
from feature_platform.specs import PARTITION_WIDTH, Partitioning
from feature_platform.time_windows import TimeWindow

if TYPE_CHECKING:
    from feature_platform.store import FeatureStore

Layout = Literal["hive", "template", "flat"]
LAYOUTS: Final[tuple[str, ...]] = get_args(Layout)
HIVE_TEMPLATES: Final[dict[str, str]] = {
    "daily": "dt={date:%Y-%m-%d}",
    "hourly": "dt={date:%Y-%m-%d}/hour={date:%H}",
}
# polars' (object_store's) names of the S3 settings, and pyarrow's names of the same settings:
# listing goes through pyarrow, reading through polars, and both must see the same account.
S3_STORAGE_OPTIONS: Final[dict[str, str]] = {
    "aws_endpoint_url": "endpoint_override",
    "aws_region": "region",
    "aws_access_key_id": "access_key",
    "aws_secret_access_key": "secret_key",
    "aws_session_token": "session_token",
}
_MISPLACED = "__feature_platform_misplaced"
_FOLDER = "__feature_platform_folder"
_SAMPLE = dt.datetime(2026, 11, 5, 13, tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Partition:
    """One partition's folder (relative to the source's path) and its data files."""

    folder: str
    window: TimeWindow
    files: list[str]


@dataclass(frozen=True)
class ParquetSource:
    """Parquet files of time-stamped rows, in folders per time partition or flat.

    Args:
        path: A local folder or an ``s3://bucket/prefix``.
        time_column: The column holding each row's event time.
        layout: ``"hive"``, ``"template"`` or ``"flat"`` (see the module docstring).
        partition_template: The folder of a partition, relative to `path`, as a format string
            with ``{date:<strftime format>}`` fields filled from the partition's UTC start,
            e.g. ``"{date:%Y/%m/%d}"`` or ``"dt={date:%Y-%m-%d}/hour={date:%H}"``. Required for
            ``template``; optional for ``hive`` (whose default is ``dt=%Y-%m-%d`` daily,
            ``dt=%Y-%m-%d/hour=%H`` hourly); not for ``flat``.
        partitioning: The folders' granularity, also the partitions of the source's Dagster
            asset; None (an unpartitioned asset) only for ``flat``.
        start: The first partition (aware, on a partition boundary).
        columns: The columns to read (the time column is always read); None reads all.
        asset_key: Key of a Dagster asset defined elsewhere that these files are; default
            ``("sources", <last folder name of path>)``, defined by this code location.
        description: Shown in the Dagster UI; a sentence naming the path by default.
        success_marker: A file the producer writes into a partition's folder once it is
            complete (``"_SUCCESS"``); with it, a folder without the marker has not arrived.
        allowed_lateness: ``flat`` only: how late rows may arrive after the newest one.
        naive_timezone: Zone of naive timestamps' wall-clock values (``"UTC"``); None refuses
            naive time columns.
        storage_options: S3 settings, as polars names them: ``aws_endpoint_url``,
            ``aws_region``, ``aws_access_key_id``, ``aws_secret_access_key``,
            ``aws_session_token`` (a mapping is accepted). Unset ones come from the usual AWS
            environment. They stay out of the repr.

    Raises:
        InvalidSpecError: An argument is malformed or does not fit the layout (the message
            names it).
    """

    path: str
    time_column: str = DEFAULT_TIME_COLUMN
    layout: Layout = "hive"
    partition_template: str | None = None
    partitioning: Partitioning | None = "daily"
    start: dt.datetime = DEFAULT_START
    columns: tuple[str, ...] | None = None
    asset_key: tuple[str, ...] | None = None
    description: str = ""
    success_marker: str | None = None
    allowed_lateness: dt.timedelta = dt.timedelta(0)
    naive_timezone: str | None = None
    storage_options: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        what = f"ParquetSource({self.path!r})"
        if not isinstance(self.path, str) or not self.path.strip():
            raise InvalidSpecError(f"{what}: path must be a folder or an s3://bucket/prefix")
        if "://" in self.path and not self.path.startswith("s3://"):
            raise InvalidSpecError(
                f"{what}: path must be a local folder or an s3:// URI, not "
                f"{self.path.split('://')[0]}://"
            )
        if self.path.startswith("s3://") and not self.path[len("s3://") :].strip("/"):
            raise InvalidSpecError(f"{what}: path needs a bucket, e.g. s3://bucket/raw/clicks")
        path = self.path.rstrip("/") or "/"
        object.__setattr__(self, "path", path)
        if self.layout not in LAYOUTS:
            raise InvalidSpecError(
                f"{what}: layout must be one of {list(LAYOUTS)}, not {self.layout!r}"
            )
        self._check_layout_arguments(what)
        object.__setattr__(
            self, "storage_options", frozen_pairs(self.storage_options, "storage_options", what)
        )
        unknown = sorted(k for k, _ in self.storage_options if k not in S3_STORAGE_OPTIONS)
        if unknown:
            raise InvalidSpecError(
                f"{what}: storage_options {unknown} are not supported; use "
                f"{sorted(S3_STORAGE_OPTIONS)}"
            )
        if self.storage_options and not self._on_s3:
            raise InvalidSpecError(f"{what}: storage_options apply to s3:// paths only")
        object.__setattr__(self, "columns", validated_columns(self.columns, self.time_column, what))
        if self.layout == "flat":
            how = "flat layout"
        else:
            how = f"{self.partitioning} folders {self.template}"
        marker = f", complete with {self.success_marker}" if self.success_marker else ""
        described = (
            f"Parquet files under {self.path} ({how}{marker}; time column {self.time_column})"
        )
        normalise_common_fields(self, what, default_description=described, check_lateness=False)

    def _check_layout_arguments(self, what: str) -> None:
        if self.layout == "flat":
            for name in ("partition_template", "success_marker"):
                if getattr(self, name) is not None:
                    raise InvalidSpecError(
                        f"{what}: {name} needs a partitioned layout ('hive' or 'template'), "
                        "not 'flat'"
                    )
            validated_lateness(self.allowed_lateness, what)
            return
        if self.partitioning not in PARTITION_WIDTH:
            raise InvalidSpecError(
                f"{what}: layout {self.layout!r} needs partitioning 'daily' or 'hourly' (the "
                f"folders' granularity), not {self.partitioning!r}"
            )
        assert self.partitioning is not None
        if self.layout == "template" and self.partition_template is None:
            raise InvalidSpecError(
                f"{what}: layout 'template' needs partition_template, e.g. '{{date:%Y/%m/%d}}'"
            )
        if self.allowed_lateness != dt.timedelta(0):
            raise InvalidSpecError(
                f"{what}: allowed_lateness applies to layout 'flat'; a partitioned layout is "
                "complete when its folders (and success markers) are there"
            )
        if self.success_marker is not None and (
            not isinstance(self.success_marker, str)
            or not self.success_marker
            or "/" in self.success_marker
        ):
            raise InvalidSpecError(
                f"{what}: success_marker must be a file name such as '_SUCCESS', not "
                f"{self.success_marker!r}"
            )
        _strptime_format(self.template, self.partitioning, self.layout, what)

    # --- Source --------------------------------------------------------------------------------

    @property
    def key(self) -> tuple[str, ...]:
        return self.asset_key or ("sources", self.path.rstrip("/").rsplit("/", 1)[-1])

    @property
    def defines_asset(self) -> bool:
        return self.asset_key is None

    @property
    def name(self) -> str:
        """How messages name the source: ``s3://raw/clicks (parquet)``."""
        return f"{self.path} (parquet)"

    @property
    def template(self) -> str:
        """The partition folder's format string (the hive default when none was given)."""
        if self.partition_template is not None:
            return self.partition_template
        return HIVE_TEMPLATES[self.partitioning or "daily"]

    def folder(self, partition: TimeWindow) -> str:
        """The folder (relative to `path`) of the partition starting at ``partition.start``."""
        return self.template.format(date=partition.start)

    def read(self, store: FeatureStore, window: TimeWindow) -> pl.DataFrame:
        """The rows of `window`, from the folders of its partitions only.

        When no file holds the window, the frame has the time column and the requested
        `columns`, typed Null: no file says what their types are.

        Raises:
            SourceError: The path, a folder or a file cannot be read (missing, bad
                credentials), a file has rows of another partition than its folder's, or the
                rows break the contract (`checked_rows`).
        """
        filesystem, root = self._filesystem()
        self._require_root(filesystem, root)
        if self.layout == "flat":
            partitions = [_Partition("", window, self._data_files(filesystem, root) or [])]
        else:
            partitions = self._partitions(filesystem, root, window)
        files = [file for partition in partitions for file in partition.files]
        if not files:
            return checked_rows(
                self.name, self._empty(), self.time_column, window, self.naive_timezone
            )
        try:
            schema = self._scan(files[:1]).collect_schema()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise source_error(self.name, f"cannot read {files[0]}: {exc}") from exc
        dtype = check_time_dtype(self.name, schema, self.time_column, self.naive_timezone)
        selected = self._selected(schema)
        in_window = window_filter(self.time_column, dtype, window, self.naive_timezone)
        scans = []
        for partition in partitions:
            if not partition.files:
                continue
            scan = self._scan(partition.files).select(selected)
            if self.layout == "flat":
                scans.append(scan.filter(in_window))
                continue
            # Rows outside their folder's partition are kept (and refused below) whatever the
            # window, so a misplaced file is found by any read of its folder.
            misplaced = ~window_filter(
                self.time_column, dtype, partition.window, self.naive_timezone
            )
            scans.append(
                scan.filter(in_window | misplaced).with_columns(
                    misplaced.alias(_MISPLACED), pl.lit(partition.folder).alias(_FOLDER)
                )
            )
        try:
            frame = pl.concat(scans, how="vertical_relaxed").collect()
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise source_error(self.name, f"cannot read the files of {window}: {exc}") from exc
        if self.layout != "flat":
            frame = self._refuse_misplaced(frame).drop(_MISPLACED, _FOLDER)
        return checked_rows(self.name, frame, self.time_column, window, self.naive_timezone)

    def completeness(self, store: FeatureStore, window: TimeWindow) -> Completeness:
        """Partitioned layouts: every partition's folder (and marker) exists. Flat: the newest
        event time in the files, minus `allowed_lateness`, reaches the window's end.

        Raises:
            SourceError: The path cannot be listed (missing, bad credentials).
        """
        filesystem, root = self._filesystem()
        self._require_root(filesystem, root)
        if self.layout == "flat":
            newest, evidence = self._newest_time(filesystem, root)
            watermark = None if newest is None else newest - self.allowed_lateness
            return Completeness.from_watermark(window, watermark, evidence)
        assert self.partitioning is not None
        partitions = list(partition_windows(self.partitioning, self.start, window))
        if not partitions:
            return Completeness(
                known=True, evidence=f"{window} is before the source's start {self.start}"
            )
        folders = [self.folder(p) for p in partitions]
        infos = self._info(filesystem, [f"{root}/{folder}" for folder in folders])
        present = [f for f, info in zip(folders, infos, strict=True) if _is_dir(info)]
        arrived = set(present)
        if self.success_marker is not None and present:
            markers = self._info(
                filesystem, [f"{root}/{folder}/{self.success_marker}" for folder in present]
            )
            arrived = {f for f, info in zip(present, markers, strict=True) if _is_file(info)}
        missing = tuple(f for f in folders if f not in arrived)
        marker = f" with {self.success_marker}" if self.success_marker else ""
        evidence = (
            f"{len(folders) - len(missing)} of {len(folders)} partition folders "
            f"{folders[0]} .. {folders[-1]} present{marker} under {self.path}"
        )
        return Completeness(known=True, missing=missing, evidence=evidence)

    def observe(self, store: FeatureStore) -> SourceObservation | None:
        """The newest partition that has arrived (partitioned layouts), or the watermark."""
        filesystem, root = self._filesystem()
        self._require_root(filesystem, root)
        if self.layout == "flat":
            newest, evidence = self._newest_time(filesystem, root)
            return SourceObservation(
                complete_through=None if newest is None else newest - self.allowed_lateness,
                details={"evidence": evidence},
            )
        assert self.partitioning is not None
        arrived = self._arrived_partitions(filesystem, root)
        if not arrived:
            return SourceObservation(details={"partition_folders": 0})
        newest = max(arrived)
        window = TimeWindow(newest, newest + PARTITION_WIDTH[self.partitioning])
        return SourceObservation(
            newest_partition=partition_key(self.partitioning, window),
            details={"newest_folder": self.folder(window), "partition_folders": len(arrived)},
        )

    # --- storage -------------------------------------------------------------------------------

    @property
    def _on_s3(self) -> bool:
        return self.path.startswith("s3://")

    def _filesystem(self) -> tuple[pafs.FileSystem, str]:
        """pyarrow's filesystem for listing, and the root as that filesystem names it."""
        if not self._on_s3:
            return pafs.LocalFileSystem(), os.path.abspath(self.path)
        options = {S3_STORAGE_OPTIONS[key]: value for key, value in self.storage_options}
        try:
            return pafs.S3FileSystem(**options), self.path[len("s3://") :]
        except (OSError, ValueError) as exc:
            raise source_error(self.name, f"cannot set up S3 access: {exc}") from exc

    def _info(self, filesystem: pafs.FileSystem, paths: list[str]) -> list[pafs.FileInfo]:
        try:
            infos: list[pafs.FileInfo] = filesystem.get_file_info(paths)
        except OSError as exc:
            raise source_error(self.name, f"cannot list {self.path}: {exc}") from exc
        return infos

    def _require_root(self, filesystem: pafs.FileSystem, root: str) -> None:
        [info] = self._info(filesystem, [root])
        if not _is_dir(info):
            raise source_error(
                self.name,
                f"{self.path} is not a folder that exists (or is empty, on S3); check the path "
                "and that the producer has written to it",
            )

    def _list(self, filesystem: pafs.FileSystem, folder: str) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(folder, recursive=True, allow_not_found=True)
        try:
            infos: list[pafs.FileInfo] = filesystem.get_file_info(selector)
        except OSError as exc:
            raise source_error(self.name, f"cannot list {folder}: {exc}") from exc
        return infos

    def _data_files(self, filesystem: pafs.FileSystem, folder: str) -> list[str] | None:
        """The data files under `folder` (polars paths), or None when the folder is missing."""
        infos = self._list(filesystem, folder)
        if not infos and not _is_dir(self._info(filesystem, [folder])[0]):
            return None
        files = []
        for info in infos:
            relative = info.path[len(folder) + 1 :]
            if _is_file(info) and not any(p[:1] in ("_", ".") for p in relative.split("/")):
                files.append(f"s3://{info.path}" if self._on_s3 else info.path)
        return sorted(files)

    def _partitions(
        self, filesystem: pafs.FileSystem, root: str, window: TimeWindow
    ) -> list[_Partition]:
        """The partitions overlapping `window` whose folders exist, with their files."""
        assert self.partitioning is not None
        partitions = []
        for partition in partition_windows(self.partitioning, self.start, window):
            folder = self.folder(partition)
            files = self._data_files(filesystem, f"{root}/{folder}")
            if files is not None:
                partitions.append(_Partition(folder, partition, files))
        return partitions

    def _arrived_partitions(self, filesystem: pafs.FileSystem, root: str) -> set[dt.datetime]:
        """Starts of the partitions whose folders (and markers) exist, from one listing."""
        assert self.partitioning is not None
        strptime = _strptime_format(self.template, self.partitioning, self.layout, self.name)
        depth = self.template.count("/") + 1
        folders: set[str] = set()
        marked: set[str] = set()
        for info in self._list(filesystem, root):
            parts = info.path[len(root) + 1 :].split("/")
            if len(parts) > depth or (len(parts) == depth and _is_dir(info)):
                folders.add("/".join(parts[:depth]))
            if len(parts) == depth + 1 and parts[-1] == self.success_marker and _is_file(info):
                marked.add("/".join(parts[:depth]))
        arrived = set()
        for folder in marked if self.success_marker is not None else folders:
            try:
                instant = dt.datetime.strptime(folder, strptime).replace(tzinfo=dt.UTC)
            except ValueError:
                continue  # not a partition folder
            partition = TimeWindow(instant, instant + PARTITION_WIDTH[self.partitioning])
            if instant >= self.start and self.folder(partition) == folder:
                arrived.add(instant)
        return arrived

    # --- reading -------------------------------------------------------------------------------

    def _scan(self, files: Sequence[str]) -> pl.LazyFrame:
        return pl.scan_parquet(
            list(files),
            storage_options=dict(self.storage_options) or None,
            hive_partitioning=False,
            glob=False,
            # Files written over time gain columns: a column missing from one reads as null.
            missing_columns="insert",
            extra_columns="ignore",
        )

    def _selected(self, schema: pl.Schema) -> list[str]:
        wanted = list(self.columns) if self.columns is not None else list(schema.names())
        unknown = [c for c in wanted if c not in schema]
        if unknown:
            raise source_error(
                self.name, f"has no columns {unknown}; its files have {list(schema.names())}"
            )
        return wanted if self.time_column in wanted else [*wanted, self.time_column]

    def _empty(self) -> pl.DataFrame:
        """No file in the window: the time column, and the requested columns (type unknown)."""
        names = [c for c in self.columns or () if c != self.time_column]
        return pl.DataFrame(schema={**dict.fromkeys(names, pl.Null()), self.time_column: UTC_TIME})

    def _refuse_misplaced(self, frame: pl.DataFrame) -> pl.DataFrame:
        misplaced = frame.filter(pl.col(_MISPLACED))
        if misplaced.height:
            folders = misplaced.get_column(_FOLDER).unique(maintain_order=True).to_list()
            first = misplaced.row(0, named=True)
            raise source_error(
                self.name,
                f"{misplaced.height} rows lie outside the partition of their folder "
                f"({', '.join(folders)}), the first at {first[self.time_column]} in "
                f"{first[_FOLDER]}: each partition folder must hold only rows of its own "
                "time range (data laid out by arrival time is layout='flat')",
            )
        return frame

    def _newest_time(
        self, filesystem: pafs.FileSystem, root: str
    ) -> tuple[dt.datetime | None, str]:
        files = self._data_files(filesystem, root) or []
        if not files:
            return None, f"no Parquet files under {self.path}: nothing has arrived"
        try:
            schema = self._scan(files[:1]).collect_schema()
            dtype = check_time_dtype(self.name, schema, self.time_column, self.naive_timezone)
            newest = (
                self._scan(files)
                .select(utc_time(self.time_column, dtype, self.naive_timezone).max())
                .collect()
                .item()
            )
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise source_error(self.name, f"cannot read the files: {exc}") from exc
        if newest is None:
            return None, f"the {len(files)} files under {self.path} hold no rows"
        lateness = (
            f" minus allowed lateness {self.allowed_lateness}" if self.allowed_lateness else ""
        )
        return newest, (
            f"newest {self.time_column} {newest.isoformat()} in {len(files)} files{lateness}"
        )


def _is_dir(info: pafs.FileInfo) -> bool:
    return bool(info.type == pafs.FileType.Directory)


def _is_file(info: pafs.FileInfo) -> bool:
    return bool(info.type == pafs.FileType.File)


def _strptime_format(template: str, partitioning: Partitioning, layout: str, what: str) -> str:
    """The `strptime` format that reads a partition's start back from its folder name.

    Raises:
        InvalidSpecError: The template has fields other than ``{date:<format>}``, names the
            same folder for two partitions (too coarse: ``%d`` in an hourly template), gives
            one partition several folders (too fine), or leaves the path.
    """
    problem = f"{what}: partition_template {template!r}"
    if not isinstance(template, str):
        raise InvalidSpecError(f"{problem} must be a string such as '{{date:%Y/%m/%d}}'")
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InvalidSpecError(f"{problem} is not a format string: {exc}") from exc
    strptime = ""
    dates = 0
    for literal, name, spec, conversion in fields:
        strptime += literal.replace("%", "%%")
        if name is None:
            continue
        if name != "date" or conversion or not spec:
            raise InvalidSpecError(
                f"{problem}: only {{date:<strftime format>}} fields are allowed, e.g. "
                "'dt={date:%Y-%m-%d}'"
            )
        strptime += spec
        dates += 1
    if not dates:
        raise InvalidSpecError(f"{problem} has no {{date:...}} field, e.g. '{{date:%Y/%m/%d}}'")
    width = PARTITION_WIDTH[partitioning]
    first = _SAMPLE.replace(minute=0) if partitioning == "hourly" else _SAMPLE.replace(hour=0)
    folder = template.format(date=first)
    parts = folder.split("/")
    if folder.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidSpecError(
            f"{problem} must name a folder inside path (no leading '/', '..' or empty parts); "
            f"it gives {folder!r}"
        )
    if layout == "hive" and not all("=" in p and not p.startswith("=") for p in parts):
        raise InvalidSpecError(
            f"{problem}: hive folders are key=value (it gives {folder!r}); use layout="
            "'template' for other names"
        )
    if template.format(date=first + width) == folder:
        raise InvalidSpecError(
            f"{problem} names the same folder for consecutive {partitioning} partitions "
            f"({folder!r}); include every field down to the partition ("
            f"{'%H' if partitioning == 'hourly' else '%d'})"
        )
    if template.format(date=first + width - dt.timedelta(microseconds=1)) != folder:
        raise InvalidSpecError(
            f"{problem} splits one {partitioning} partition over several folders; drop the "
            "fields finer than the partitioning"
        )
    try:
        parsed = dt.datetime.strptime(folder, strptime)
    except ValueError:
        parsed = None
    if parsed != first.replace(tzinfo=None):
        raise InvalidSpecError(
            f"{problem}: the folder {folder!r} does not name its partition unambiguously "
            "(include the year, month and day)"
        )
    return strptime
