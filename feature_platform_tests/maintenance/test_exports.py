"""The README's ``from feature_platform.maintenance import ...`` works, without a heavy import."""

from __future__ import annotations

import subprocess
import sys


def test_public_names_import_from_the_package() -> None:
    from feature_platform.maintenance import (
        MaintenancePolicy,
        compact_group,
        expire_snapshots,
        maintain_group,
        remove_orphan_files,
    )
    from feature_platform.maintenance.expiry import expire_snapshots as defined_expire
    from feature_platform.maintenance.runner import maintain_group as defined_maintain

    assert maintain_group is defined_maintain
    assert expire_snapshots is defined_expire
    assert callable(compact_group)
    assert callable(remove_orphan_files)
    assert MaintenancePolicy().retain_last == 10


def test_the_policy_alone_does_not_load_the_compaction_code() -> None:
    """Every feature group definition imports the policy; it must stay cheap to import."""
    code = (
        "import sys; from feature_platform.maintenance import MaintenancePolicy; "
        "print('feature_platform.maintenance.compaction' in sys.modules, "
        "'pyiceberg.io.pyarrow' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]
