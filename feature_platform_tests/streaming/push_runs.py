"""A landing sensor's run request, executed in process as the deployment's push job."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from feature_platform.definitions import build_definitions
from feature_platform.demo.feature_groups import ARTICLE_POPULARITY
from feature_platform.orchestration.landing_sensors import landing_job_name
from feature_platform.orchestration.resources import FeatureStoreResource


def run_push(
    home: Path, request: dg.RunRequest, group: str = ARTICLE_POPULARITY.name
) -> dg.ExecuteInProcessResult:
    job = build_definitions().get_job_def(landing_job_name(group))
    return job.execute_in_process(
        run_config=request.run_config,
        resources={"feature_store": FeatureStoreResource(home=str(home))},
        raise_on_error=False,
    )
