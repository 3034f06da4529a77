"""deploy/: the ECS instance passes Dagster's own validation, the Helm values use the chart's
keys, the image installs what the README installs; a missing setting is named."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.instance.config import dagster_instance_config

from feature_platform.orchestration.instance import DAGSTER_YAML
from feature_platform.orchestration.resources import resources_for
from feature_platform_tests.deploy.instance_config import (
    DOCKERFILE,
    ECS_DAGSTER_YAML,
    GRPC_SERVER,
    K8S_VALUES,
    README,
    REPOSITORY,
    check_instance_folder,
    class_config,
    configured_classes,
    env_references,
)

# What an ECS deployment sets (illustrative values; nothing is contacted).
ECS_SETTINGS = {
    "DAGSTER_PG_HOST": "dagster.cluster-abc.eu-west-1.rds.amazonaws.com",
    "DAGSTER_PG_PORT": "5432",
    "DAGSTER_PG_USERNAME": "dagster",
    "DAGSTER_PG_PASSWORD": "from-secrets-manager",
    "DAGSTER_PG_DB": "dagster",
    "DAGSTER_PG_PASSWORD_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:pg",
    "DAGSTER_ECS_EXECUTION_ROLE_ARN": "arn:aws:iam::123456789012:role/dagster-execution",
    "DAGSTER_ECS_TASK_ROLE_ARN": "arn:aws:iam::123456789012:role/feature-platform-writer",
    "DAGSTER_ECS_LOG_GROUP": "/ecs/feature-platform-runs",
    "DAGSTER_COMPUTE_LOGS_BUCKET": "acme-dagster-logs",
    "FEATURE_PLATFORM_ENV": "aws",
    "FEATURE_PLATFORM_CATALOG_TYPE": "glue",
    "FEATURE_PLATFORM_WAREHOUSE": "s3://acme-features/features",
    "FEATURE_PLATFORM_LANDING": "s3://acme-features/landing",
    "AWS_REGION": "eu-west-1",
}
# What the code location needs in the `aws` environment (its dg.EnvVar settings).
CODE_LOCATION_SETTINGS = (
    "FEATURE_PLATFORM_ENV",
    "FEATURE_PLATFORM_CATALOG_TYPE",
    "FEATURE_PLATFORM_WAREHOUSE",
    "AWS_REGION",
)


@pytest.fixture
def ecs_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in ECS_SETTINGS.items():
        monkeypatch.setenv(name, value)
    # boto3 clients are built (never called): no credential lookup, no instance metadata.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", ECS_SETTINGS["AWS_REGION"])  # set by ECS as well
    return dict(ECS_SETTINGS)


@pytest.fixture
def ecs_folder(tmp_path: Path) -> Path:
    """An instance folder holding deploy/ecs/dagster.yaml, as $DAGSTER_HOME in the containers."""
    folder = tmp_path / "dagster_home"
    folder.mkdir()
    shutil.copy(ECS_DAGSTER_YAML, folder / "dagster.yaml")
    return folder


def _ecs_yaml() -> dict[str, Any]:
    return yaml.safe_load(ECS_DAGSTER_YAML.read_text())  # type: ignore[no-any-return]


def test_the_ecs_instance_passes_dagsters_validation_and_its_classes_start(
    ecs_env: dict[str, str], ecs_folder: Path
) -> None:
    ref = check_instance_folder(ecs_folder)

    classes = {role: data.class_name for role, data in configured_classes(ref).items()}
    assert classes["storage"] == "DagsterPostgresStorage"
    assert classes["run_launcher"] == "EcsRunLauncher"
    assert classes["run_coordinator"] == "QueuedRunCoordinator"
    assert classes["compute_logs"] == "S3ComputeLogManager"
    storage = class_config(ref.storage_data)["postgres_db"]  # type: ignore[arg-type]
    assert (storage["hostname"], storage["port"], storage["db_name"]) == (
        ecs_env["DAGSTER_PG_HOST"],
        5432,
        "dagster",
    )
    assert ref.settings["concurrency"] == {
        "runs": {
            "max_concurrent_runs": 10,
            "tag_concurrency_limits": [{"key": "dagster/backfill", "limit": 6}],
        },
        "pools": {"default_limit": 4},
    }
    assert ref.settings["run_retries"]["enabled"] is True

    # The launcher, the coordinator and the log manager start (they only build AWS clients).
    launcher = ref.run_launcher_data.rehydrate(as_type=object)  # type: ignore[union-attr,type-var]
    assert type(launcher).__name__ == "EcsRunLauncher"
    assert launcher.task_definition_dict["task_role_arn"] == ecs_env["DAGSTER_ECS_TASK_ROLE_ARN"]
    assert launcher.secrets == [
        {"name": "DAGSTER_PG_PASSWORD", "valueFrom": ecs_env["DAGSTER_PG_PASSWORD_SECRET_ARN"]}
    ]
    coordinator = ref.run_coordinator_data.rehydrate(as_type=object)  # type: ignore[union-attr,type-var]
    assert type(coordinator).__name__ == "QueuedRunCoordinator"
    logs = ref.compute_logs_data.rehydrate(as_type=object)  # type: ignore[union-attr,type-var]
    assert logs._s3_bucket == ecs_env["DAGSTER_COMPUTE_LOGS_BUCKET"]


def test_the_ecs_settings_are_the_ones_documented_and_reach_the_run_tasks() -> None:
    config = _ecs_yaml()
    launcher = config["run_launcher"]["config"]
    passed = set(launcher["env_vars"]) | {secret["name"] for secret in launcher["secrets"]}
    assert env_references(config) | set(launcher["env_vars"]) == set(ECS_SETTINGS)
    # A run task loads the instance (its storage) and the code location's resources.
    assert env_references(config["storage"]) <= passed
    assert set(CODE_LOCATION_SETTINGS) <= passed
    header = ECS_DAGSTER_YAML.read_text().split("\n\n")[0]
    assert all(name in header for name in ECS_SETTINGS if name.startswith("DAGSTER_"))


@pytest.mark.parametrize("setting", sorted(ECS_SETTINGS))
def test_a_missing_ecs_setting_is_named(
    setting: str, ecs_env: dict[str, str], ecs_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(setting)
    with pytest.raises(Exception) as raised:  # noqa: PT011  (Dagster's own error types)
        check_instance_folder(ecs_folder)
    assert re.search(rf'environment variable "?{setting}\b', str(raised.value)), raised.value


@pytest.mark.parametrize("setting", ["FEATURE_PLATFORM_WAREHOUSE", "FEATURE_PLATFORM_CATALOG_TYPE"])
def test_the_code_location_names_a_missing_aws_setting(
    setting: str, ecs_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the ECS task or the Kubernetes secret must give the code location and its runs."""
    monkeypatch.delenv(setting)
    resources = {"feature_store": resources_for("aws")["feature_store"]}
    with (
        pytest.raises(DagsterInvalidConfigError, match=f'environment variable "{setting}"'),
        dg.build_resources(resources),
    ):
        pass


def _at(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


# The chart's keys (helm/dagster/schema in dagster-io/dagster) for the sections set here; the
# chart's values schema refuses unknown keys in most of them.
CHART_KEYS = {
    "": {
        "dagsterWebserver", "dagster-user-deployments", "postgresql",
        "generatePostgresqlPasswordSecret", "generateCeleryConfigSecret", "rabbitmq", "redis",
        "flower", "ingress", "imagePullSecrets", "computeLogManager", "scheduler",
        "runLauncher", "pythonLogs", "dagsterDaemon", "busybox", "migrate", "telemetry",
        "serviceAccount", "global", "retention", "additionalInstanceConfig", "concurrency",
    },
    "dagster-user-deployments": {"enabled", "enableSubchart", "imagePullSecrets", "deployments"},
    "dagster-user-deployments.deployments.0": {
        "name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns",
        "port", "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity",
        "tolerations", "podSecurityContext", "securityContext", "resources", "livenessProbe",
        "readinessProbe", "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName",
    },
    "runLauncher": {"type", "config"},
    "runLauncher.config.k8sRunLauncher": {
        "image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
        "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
        "failPodOnRunFailure", "resources", "schedulerName", "securityContext", "runK8sConfig",
    },
    "postgresql": {
        "image", "enabled", "postgresqlHost", "postgresqlUsername", "postgresqlPassword",
        "postgresqlDatabase", "postgresqlParams", "postgresqlScheme", "service",
    },
    "dagsterDaemon.runCoordinator": {"enabled", "type", "config"},
    "dagsterDaemon.runCoordinator.config.queuedRunCoordinator": {
        "maxConcurrentRuns", "tagConcurrencyLimits", "dequeueIntervalSeconds",
        "dequeueNumWorkers", "dequeueUseThreads", "blockOpConcurrencyLimitedRuns",
    },
    "concurrency": {"enabled", "pools", "runs"},
    "concurrency.pools": {"defaultLimit", "granularity", "opGranularityRunBuffer"},
    "concurrency.runs": {"maxConcurrentRuns", "tagConcurrencyLimits"},
    "computeLogManager": {"type", "config"},
    "computeLogManager.config.s3ComputeLogManager": {
        "bucket", "localDir", "prefix", "useSsl", "verify", "verifyCertPath", "endpointUrl",
        "skipEmptyFiles", "uploadInterval", "uploadExtraArgs", "showUrlOnly", "region",
    },
}  # fmt: skip


def test_the_helm_values_use_the_charts_keys_and_this_image() -> None:
    values = yaml.safe_load(K8S_VALUES.read_text())

    for path, keys in CHART_KEYS.items():
        section = _at(values, path) if path else values
        assert set(section) <= keys, f"{path}: not chart keys: {sorted(set(section) - keys)}"
    deployment = _at(values, "dagster-user-deployments.deployments.0")
    assert _at(values, "dagster-user-deployments.enabled") is True
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "feature_platform.definitions"]
    assert {"repository", "tag"} <= set(deployment["image"])
    assert isinstance(deployment["port"], int)
    secrets = [s["name"] for s in deployment["envSecrets"]]
    assert secrets == ["feature-platform-env"]
    assert _at(values, "runLauncher.type") == "K8sRunLauncher"
    assert [s["name"] for s in _at(values, "runLauncher.config.k8sRunLauncher.envSecrets")] == (
        secrets
    )
    assert _at(values, "dagsterDaemon.runCoordinator.enabled") is True
    assert _at(values, "dagsterDaemon.runCoordinator.type") == "QueuedRunCoordinator"
    assert _at(values, "postgresql.enabled") is False  # an external PostgreSQL
    assert _at(values, "generatePostgresqlPasswordSecret") is False
    assert "postgresqlPassword" not in values["postgresql"]  # from the secret, not this file
    assert {"postgresqlHost", "postgresqlUsername", "postgresqlDatabase"} <= set(
        values["postgresql"]
    )
    # The driver the image has (psycopg2), as on ECS.
    assert _at(values, "postgresql.postgresqlScheme") == _at(
        _ecs_yaml(), "storage.postgres.postgres_db.scheme"
    )
    assert _at(values, "computeLogManager.type") == "S3ComputeLogManager"
    assert _at(values, "computeLogManager.config.s3ComputeLogManager.bucket")
    assert "dagster-k8s" in K8S_VALUES.read_text()  # the comment on the image's extra
    assert "EXTRAS=k8s" in K8S_VALUES.read_text()


def _chart_instance(values: dict[str, Any]) -> dict[str, Any]:
    """The parts of the chart's dagster.yaml that these values set, in Dagster's own names."""
    queued = _at(values, "dagsterDaemon.runCoordinator.config.queuedRunCoordinator")
    concurrency = values["concurrency"]
    retries, monitoring = values["dagsterDaemon"]["runRetries"], values["dagsterDaemon"]
    return {
        "run_coordinator": {
            "module": "dagster.core.run_coordinator",
            "class": "QueuedRunCoordinator",
            "config": {
                re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower(): value
                for key, value in queued.items()
            },
        },
        "concurrency": {
            "runs": {
                "max_concurrent_runs": concurrency["runs"]["maxConcurrentRuns"],
                "tag_concurrency_limits": concurrency["runs"]["tagConcurrencyLimits"],
            },
            "pools": {"default_limit": concurrency["pools"]["defaultLimit"]},
        },
        "run_retries": {"enabled": retries["enabled"], "max_retries": retries["maxRetries"]},
        "run_monitoring": {
            "enabled": monitoring["runMonitoring"]["enabled"],
            "start_timeout_seconds": monitoring["runMonitoring"]["startTimeoutSeconds"],
        },
    }


def test_kubernetes_and_ecs_apply_the_same_limits_and_dagster_accepts_them(
    tmp_path: Path,
) -> None:
    instance = _chart_instance(yaml.safe_load(K8S_VALUES.read_text()))
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(instance))
    validated, _ = dagster_instance_config(str(tmp_path))  # e.g. run limits in one place only

    ecs = _ecs_yaml()
    for section in ("concurrency", "run_retries", "run_monitoring"):
        assert validated[section] == ecs[section], section
    local = yaml.safe_load(DAGSTER_YAML)  # the demo's instance: the same limit per table
    assert ecs["concurrency"]["pools"] == local["concurrency"]["pools"]


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def _readme_install_commands() -> list[list[str]]:
    """The README's install command: its first line before `uv run`, split into commands."""
    first_block = README.read_text().split("```bash\n", 1)[1].split("```", 1)[0]
    line = first_block.splitlines()[0].split("#", 1)[0]
    commands = [shlex.split(c) for c in line.split("&&")]
    return [c for c in commands if c[:4] != ["python3", "-m", "uv", "run"]]


def test_the_image_installs_what_the_readme_installs_without_the_dev_tools() -> None:
    runs = [args for instruction, args in _dockerfile_instructions() if instruction == "RUN"]
    [install] = [run for run in runs if "uv sync" in run]
    image_commands = [shlex.split(c) for c in install.split("&&")]
    extras = ["${EXTRAS:+--extra", "$EXTRAS}"]  # shlex's view of the optional extras
    assert image_commands[-1][-2:] == extras
    image_commands[-1] = [t for t in image_commands[-1][:-2] if t != "--no-dev"]
    assert "--no-dev" in install

    assert image_commands == _readme_install_commands()
    assert image_commands == [
        ["python3", "-m", "pip", "install", "uv"],
        ["python3", "-m", "uv", "sync", "--frozen"],
    ]


def test_the_image_runs_the_code_location_as_a_non_root_user_without_secrets() -> None:
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim")
    pyproject = (REPOSITORY / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11,<3.12"' in pyproject
    users = [args for instruction, args in instructions if instruction == "USER"]
    assert users
    assert users[-1] not in ("root", "0")
    last_run = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "RUN")
    [user_at] = [i for i, (instruction, _) in enumerate(instructions) if instruction == "USER"]
    assert user_at > last_run  # installed as root, run as the user
    [cmd] = [args for instruction, args in instructions if instruction == "CMD"]
    assert shlex.split(" ".join(yaml.safe_load(cmd))) == shlex.split(GRPC_SERVER)
    settings = " ".join(args for instruction, args in instructions if instruction in ("ENV", "ARG"))
    assert not re.search(r"PASSWORD|SECRET|TOKEN|ACCESS_KEY|CREDENTIAL", settings, re.I)
    # Only what the package needs and the ECS instance are copied; the build context holds
    # nothing else.
    copies = [args.split() for instruction, args in instructions if instruction == "COPY"]
    copied = {source for args in copies for source in args[:-1] if not source.startswith("--")}
    assert copied == {
        "pyproject.toml", "uv.lock", "README.md", "feature_platform", "deploy/ecs/dagster.yaml"
    }  # fmt: skip
    assert ["--chown=10001", "deploy/ecs/dagster.yaml", "/opt/dagster/ecs/dagster.yaml"] in copies
    ignore = (REPOSITORY / ".dockerignore").read_text().splitlines()
    assert "**" in ignore
    assert {f"!{source}" for source in copied} <= {line.rstrip("/") for line in ignore}
