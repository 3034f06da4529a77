"""The registry module: which definitions a deployment builds its assets from."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from feature_platform.cli.scaffold import create_repository
from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS
from feature_platform.demo.training_sets import DEMO_TRAINING_SETS
from feature_platform.errors import ConfigurationError, InvalidSpecError
from feature_platform.registry import load_feature_groups, load_training_sets


def _registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, body: str) -> str:
    (tmp_path / f"{name}.py").write_text(body)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_without_a_registry_module_the_demo_is_deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEATURE_PLATFORM_REGISTRY", raising=False)
    assert load_feature_groups() == DEMO_FEATURE_GROUPS
    assert load_training_sets() == DEMO_TRAINING_SETS


def test_a_registry_module_from_the_environment_without_training_sets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _registry(
        tmp_path,
        monkeypatch,
        "registry_groups_only",
        "from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS\n"
        "FEATURE_GROUPS = DEMO_FEATURE_GROUPS[:1]\n",
    )
    monkeypatch.setenv("FEATURE_PLATFORM_REGISTRY", module)
    assert load_feature_groups() == DEMO_FEATURE_GROUPS[:1]
    assert load_training_sets() == ()  # optional: absent means none


def test_a_group_registered_twice_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = _registry(
        tmp_path,
        monkeypatch,
        "registry_twice",
        "from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS\n"
        "from feature_platform.demo.training_sets import DEMO_TRAINING_SETS\n"
        "FEATURE_GROUPS = DEMO_FEATURE_GROUPS * 2\n"
        "TRAINING_SETS = DEMO_TRAINING_SETS * 2\n",
    )
    with pytest.raises(InvalidSpecError, match="feature groups registered twice: \\['article"):
        load_feature_groups(module)
    with pytest.raises(InvalidSpecError, match="training sets registered twice: \\['click_through"):
        load_training_sets(module)


def test_a_registry_without_feature_groups_or_that_fails_to_import_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = _registry(tmp_path, monkeypatch, "registry_empty", "TRAINING_SETS = ()\n")
    with pytest.raises(ConfigurationError, match="cannot load FEATURE_GROUPS from registry mod"):
        load_feature_groups(empty)
    with pytest.raises(ConfigurationError, match="cannot load TRAINING_SETS from registry mod"):
        load_training_sets("no_such_registry_module")


# Loads the registry module of the environment and builds the Dagster definitions from it, then
# reports the demo modules that got imported on the way.
DEMO_PROBE = """
import json, sys
from feature_platform.definitions import build_definitions
from feature_platform.registry import load_feature_groups, load_training_sets
groups = [d.name for d in load_feature_groups()]
build_definitions()
print(json.dumps({
    "groups": groups,
    "training_sets": len(load_training_sets()),
    "demo": sorted(m for m in sys.modules if m.startswith("feature_platform.demo")),
}))
"""


@pytest.mark.integration
def test_a_deployment_of_its_own_groups_does_not_import_the_demo(tmp_path: Path) -> None:
    """The repository `feature-platform init` makes, registered by FEATURE_PLATFORM_REGISTRY."""
    scaffold = create_repository(tmp_path / "repo", "my_features")
    env = {
        **os.environ,
        "PYTHONPATH": str(scaffold.root),
        "FEATURE_PLATFORM_REGISTRY": f"{scaffold.package}.features",
        "FEATURE_PLATFORM_HOME": str(tmp_path / "home"),
    }
    probe = subprocess.run(
        [sys.executable, "-c", DEMO_PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert probe.returncode == 0, probe.stderr
    assert json.loads(probe.stdout) == {
        "groups": [scaffold.group],
        "training_sets": 0,
        "demo": [],
    }
