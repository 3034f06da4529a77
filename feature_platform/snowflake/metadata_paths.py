"""Where a table's metadata file lies relative to the external volume, as Snowflake names it.

An object-store catalog integration registers and refreshes a table from a path relative to the
volume's ``STORAGE_BASE_URL``, so the two locations must be compared as locations (scheme
aliases, ``file://`` and plain paths), not as strings.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import unquote

from feature_platform.errors import InvalidSnowflakeSettingError, MetadataOutsideVolumeError

_S3_SCHEMES: Final = frozenset({"s3", "s3a", "s3n"})


def relative_metadata_path(metadata_location: str, storage_base_url: str) -> str:
    """The metadata file's path relative to the external volume, as Snowflake wants it.

    ``s3://``, ``s3a://`` and ``s3n://`` name the same S3 objects; ``file://`` URIs and
    absolute plain paths name the same local files (percent-escapes in ``file://`` URIs are
    decoded, as `Path.as_uri` writes them). The result has no leading slash.

    Args:
        metadata_location: The table's current metadata file (pyiceberg's
            ``table.metadata_location``).
        storage_base_url: The external volume's ``STORAGE_BASE_URL``.

    Raises:
        MetadataOutsideVolumeError: The file is not below `storage_base_url` (other scheme,
            bucket or folder), or is the folder itself.
        InvalidSnowflakeSettingError: Either location is malformed: relative plain path,
            unsupported scheme, ``.``/``..`` or empty segments.
    """
    scheme, authority, segments = _split_location(metadata_location, "metadata_location")
    base_scheme, base_authority, base_segments = _split_location(
        storage_base_url, "storage_base_url", folder=True
    )
    inside = (
        scheme == base_scheme
        and authority == base_authority
        and len(segments) > len(base_segments)
        and segments[: len(base_segments)] == base_segments
    )
    if not inside:
        raise MetadataOutsideVolumeError(
            f"metadata file {metadata_location!r} is not inside the external volume's "
            f"STORAGE_BASE_URL {storage_base_url!r}; Snowflake can only read files below it. "
            "Point the volume at the warehouse root, or write the table under it."
        )
    return "/".join(segments[len(base_segments) :])


def _split_location(
    location: str, what: str, *, folder: bool = False
) -> tuple[str, str, tuple[str, ...]]:
    """(scheme, bucket or host, path segments) with aliases folded, so prefixes compare."""
    if not isinstance(location, str) or not location:
        raise InvalidSnowflakeSettingError(f"{what} must be a non-empty string, not {location!r}")
    if "://" in location:
        scheme, rest = location.split("://", 1)
        scheme = scheme.lower()
        authority, _, path = rest.partition("/")
        if scheme in _S3_SCHEMES:
            scheme = "s3"
            if not authority:
                raise InvalidSnowflakeSettingError(f"{what} {location!r} names no bucket")
        elif scheme == "file":
            if authority not in ("", "localhost"):
                raise InvalidSnowflakeSettingError(
                    f"{what} {location!r} names a remote host; file URIs must be local"
                )
            authority, path = "", unquote(path)
        else:
            raise InvalidSnowflakeSettingError(
                f"{what} {location!r} uses scheme {scheme!r}; use s3://, s3a://, file:// or an "
                "absolute path"
            )
    else:
        if not location.startswith("/"):
            raise InvalidSnowflakeSettingError(
                f"{what} {location!r} is a relative path; give an absolute path or a URI"
            )
        scheme, authority, path = "file", "", location[1:]
    segments = path.split("/") if path else []
    if folder and segments and segments[-1] == "":
        segments.pop()  # a folder's trailing slash
    if "" in segments:
        raise InvalidSnowflakeSettingError(
            f"{what} {location!r} has an empty path segment ('//' or a trailing '/')"
        )
    if {".", ".."} & set(segments):
        raise InvalidSnowflakeSettingError(
            f"{what} {location!r} has a '.' or '..' segment; give the normalised path"
        )
    return scheme, authority, tuple(segments)
