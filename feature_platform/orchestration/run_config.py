"""Run config of assets that take no options."""

import dagster as dg


class NoOptions(dg.Config):
    """Declared by assets that have no run options, so that Dagster refuses any it is given.

    An asset with no config at all accepts any run config and ignores it: a mistyped option, or
    one meant for another asset (``full_resync`` on a feature group), would run silently without
    effect. With this empty config Dagster fails the launch with "unexpected config entry".
    """
