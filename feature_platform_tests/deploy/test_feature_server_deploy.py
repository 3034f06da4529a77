"""deploy/k8s/feature-server.yaml: the feature server's Deployment and Service fit together, run
a command our CLI accepts from the deployment's image, and keep the token in a secret."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from feature_platform.cli import build_parser
from feature_platform.cli.serve import run_server
from feature_platform.server.settings import TOKEN_VARIABLE, ServerSettings
from feature_platform_tests.deploy.instance_config import DOCKERFILE, K8S_VALUES

FEATURE_SERVER = K8S_VALUES.parent / "feature-server.yaml"


def _documents() -> dict[str, dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(FEATURE_SERVER.read_text()) if d]
    return {document["kind"]: document for document in documents}


def _container() -> dict[str, Any]:
    [container] = _documents()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container  # type: ignore[no-any-return]


def test_the_files_hold_one_deployment_and_one_service() -> None:
    documents = _documents()
    assert sorted(documents) == ["Deployment", "Service"]
    assert documents["Deployment"]["apiVersion"] == "apps/v1"
    assert documents["Service"]["apiVersion"] == "v1"


def test_the_service_routes_to_the_deployments_pods_and_port() -> None:
    deployment, service = _documents()["Deployment"], _documents()["Service"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= labels.items()
    assert service["spec"]["selector"].items() <= labels.items()
    ports = {port["name"]: port["containerPort"] for port in _container()["ports"]}
    [service_port] = service["spec"]["ports"]
    assert service_port["targetPort"] in ports
    assert service_port["port"] == ports[service_port["targetPort"]]


def test_the_command_is_one_our_cli_accepts_on_the_container_port() -> None:
    command = _container()["command"]
    assert command[:2] == ["feature-platform", "serve"]
    args = build_parser().parse_args(command[1:])
    assert args.handler is run_server
    assert args.host == "0.0.0.0"  # reachable from the Service, guarded by the token
    assert args.port == _container()["ports"][0]["containerPort"]
    assert args.workers >= 1


def test_the_image_and_store_settings_are_the_code_locations() -> None:
    values = yaml.safe_load(K8S_VALUES.read_text())
    [location] = values["dagster-user-deployments"]["deployments"]
    image = location["image"]
    assert _container()["image"] == f"{image['repository']}:{image['tag']}"
    secrets = [s["secretRef"]["name"] for s in _container()["envFrom"]]
    assert secrets == [s["name"] for s in location["envSecrets"]]
    exposed = re.search(r"^EXPOSE (.+)$", DOCKERFILE.read_text(), re.M)
    assert exposed is not None
    assert str(_container()["ports"][0]["containerPort"]) in exposed.group(1).split()


def test_the_token_comes_from_a_secret_never_from_the_file() -> None:
    [token] = [e for e in _container()["env"] if e["name"] == TOKEN_VARIABLE]
    assert "value" not in token
    assert token["valueFrom"]["secretKeyRef"]["name"]
    assert not re.search(r"value:\s*\S", FEATURE_SERVER.read_text())


def test_probes_drain_and_user_fit_the_server() -> None:
    container = _container()
    pod = _documents()["Deployment"]["spec"]["template"]["spec"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert "httpGet" not in container["livenessProbe"]  # an outage of DynamoDB restarts nothing
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert pod["terminationGracePeriodSeconds"] > ServerSettings().graceful_seconds + pre_stop
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert f"useradd --uid {pod['securityContext']['runAsUser']}" in DOCKERFILE.read_text()


def test_the_file_is_where_the_readme_says() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "deploy/k8s/feature-server.yaml" in readme
