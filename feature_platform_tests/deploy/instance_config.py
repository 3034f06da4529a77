"""Dagster's own checks of a `dagster.yaml`, as the webserver, the daemon and a run apply them.

`InstanceRef.from_dir` validates the file against Dagster's instance schema (and its rules, e.g.
run limits in one place only). Each configurable class (storage, run launcher, run coordinator,
compute logs...) then has its config processed against the class's own schema, which is where
``{env: NAME}`` is read, as `ConfigurableClassData.rehydrate` does when the instance starts;
and the run launcher's `env_vars` are read as the launcher reads them for each run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from dagster._config import process_config
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.ref import InstanceRef
from dagster._core.utils import parse_env_var
from dagster._serdes import ConfigurableClassData, class_from_code_pointer

REPOSITORY = Path(__file__).resolve().parents[2]
DEPLOY = REPOSITORY / "deploy"
ECS_DAGSTER_YAML = DEPLOY / "ecs" / "dagster.yaml"
K8S_VALUES = DEPLOY / "k8s" / "values.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
README = REPOSITORY / "README.md"
# The image's command: the code location's gRPC server.
GRPC_SERVER = "dagster api grpc -m feature_platform.definitions -h 0.0.0.0 -p 4000"


def configured_classes(ref: InstanceRef) -> dict[str, ConfigurableClassData]:
    """The instance's configurable classes by role (those the file leaves out: their defaults)."""
    roles = {
        "storage": ref.storage_data,
        "run_launcher": ref.run_launcher_data,
        "run_coordinator": ref.run_coordinator_data,
        "compute_logs": ref.compute_logs_data,
        "scheduler": ref.scheduler_data,
        "local_artifact_storage": ref.local_artifact_storage_data,
    }
    return {role: data for role, data in roles.items() if data is not None}


def class_config(data: ConfigurableClassData) -> dict[str, Any]:
    """A class's config with defaults filled in and ``{env: NAME}`` read from the environment.

    Raises:
        DagsterInvalidConfigError: As Dagster raises it when the instance starts, e.g. naming
            an environment variable that is not set.
    """
    klass = class_from_code_pointer(data.module_name, data.class_name)
    raw = yaml.safe_load(data.config_yaml) or {}
    result = process_config(klass.config_type(), raw)  # type: ignore[attr-defined]
    if not result.success:
        raise DagsterInvalidConfigError(
            f"Errors whilst loading configuration for {data.module_name}.{data.class_name}.",
            result.errors or [],
            raw,
        )
    return dict(result.value or {})


def check_instance_folder(folder: Path) -> InstanceRef:
    """Validate ``folder/dagster.yaml`` as Dagster does, without connecting to anything.

    Raises:
        DagsterInvalidConfigError: The file, or one class's config, is invalid.
        Exception: A run launcher's `env_vars` entry is not set (Dagster's own message).
    """
    ref = InstanceRef.from_dir(str(folder))
    for role, data in configured_classes(ref).items():
        config = class_config(data)
        if role == "run_launcher":
            for entry in config.get("env_vars", []):
                parse_env_var(entry)
    return ref


def env_references(config: object) -> set[str]:
    """Every ``{env: NAME}`` in a parsed YAML document."""
    if isinstance(config, dict):
        if set(config) == {"env"} and isinstance(config["env"], str):
            return {config["env"]}
        return set().union(*(env_references(v) for v in config.values()))
    if isinstance(config, list):
        return set().union(*(env_references(v) for v in config))
    return set()
