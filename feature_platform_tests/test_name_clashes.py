"""Feature groups, their ``<group>_latest`` views and training sets never answer to one name.

They share one name space in local SQL (and groups and views in Snowflake, upper-cased). The
rules: no group or training set name ends in ``_latest``; a training set never takes a group's
name, nor a group a training set's. Tables stored before these rules keep working; where two of
them clash, a query naming the clash is refused instead of reading whichever came last.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from pyiceberg.catalog import Catalog

from feature_platform import FeatureGroup, FeatureStore
from feature_platform.errors import InvalidSpecError, NameClashError
from feature_platform.offline_store.schema import SPEC_PROPERTY, iceberg_schema
from feature_platform.snowflake.naming import table_name, view_name
from feature_platform.sql import SqlError, run_sql
from feature_platform.training import TrainingSet
from feature_platform.training.definition import TrainingSetDefinition, check_training_set_names
from feature_platform.training.storage import training_set_namespace, write_training_set
from feature_platform_tests.helpers import DAY_START, NEXT_DAY, user_frame, user_group
from feature_platform_tests.snowflake.builders import make_settings


def _labels(store: FeatureStore, window: object) -> pl.DataFrame:
    return pl.DataFrame({"user_id": ["u1"], "event_timestamp": [DAY_START]})


def _training_set(
    name: str, features: tuple[str, ...] = ("user_stats:clicks",)
) -> TrainingSetDefinition:
    return TrainingSetDefinition(name=name, features=features, labels=_labels)


def _stored_before_the_rule(store: FeatureStore, name: str) -> FeatureGroup:
    """A group table under `name` as an older version could create it (no name rule yet)."""
    legacy = FeatureGroup.from_dict({**user_group().to_dict(), "name": name})
    store.catalog.create_table(
        (store.config.namespace, name),
        schema=iceberg_schema(legacy),
        properties={SPEC_PROPERTY: legacy.to_json()},
    )
    return legacy


def _frame(clicks: int) -> TrainingSet:
    return TrainingSet(pl.DataFrame({"user_id": ["u1"], "clicks": [clicks]}), ())


def _training_tables(catalog: Catalog, store: FeatureStore) -> list[str]:
    namespace = training_set_namespace(store.config)
    if (namespace,) not in catalog.list_namespaces():
        return []
    return [identifier[-1] for identifier in catalog.list_tables(namespace)]


# --- feature groups ----------------------------------------------------------------------------


@pytest.mark.parametrize("first", ["user_stats", "user_stats_latest"])
def test_a_group_named_like_another_groups_view_is_refused_in_either_order(
    store: FeatureStore, first: str
) -> None:
    """``<g>_latest`` is refused whether or not `g` exists yet: the rule is the name alone."""
    if first == "user_stats":
        store.apply(user_group())
    expected = r"'user_stats_latest' ends in '_latest'.*'user_stats'"
    with pytest.raises(NameClashError, match=expected):
        user_group(name="user_stats_latest")
    assert [g.name for g in store.list_feature_groups()] == (
        ["user_stats"] if first == "user_stats" else []
    )


def test_the_clash_is_a_spec_error_with_a_name_that_works(store: FeatureStore) -> None:
    with pytest.raises(InvalidSpecError, match=r"e\.g\. 'latest_clicks'"):
        user_group(name="clicks_latest")
    user_group(name="latest_clicks")  # the suggestion is a valid group name
    user_group(name="latest")  # only the suffix is reserved


def test_apply_refuses_to_create_a_table_whose_spec_was_built_around_the_rule(
    store: FeatureStore,
) -> None:
    stored_form = FeatureGroup.from_dict({**user_group().to_dict(), "name": "user_stats_latest"})
    with pytest.raises(NameClashError, match="user_stats_latest"):
        store.apply(stored_form)
    assert not store.catalog.table_exists((store.config.namespace, "user_stats_latest"))


def test_a_new_group_cannot_take_the_view_name_of_a_group_stored_before_the_rule(
    store: FeatureStore,
) -> None:
    """The catalog already holds ``user_stats_latest`` (from an older version): it still loads,
    and applying ``user_stats``, whose view would take its name, is refused."""
    _stored_before_the_rule(store, "user_stats_latest")
    assert [g.name for g in store.list_feature_groups()] == ["user_stats_latest"]
    with pytest.raises(NameClashError, match=r"'user_stats_latest'.*another name"):
        store.apply(user_group())
    assert not store.catalog.table_exists((store.config.namespace, "user_stats"))


def test_sql_refuses_a_name_two_stored_relations_answer_to(store: FeatureStore) -> None:
    """Both tables exist (made before the rule): ``user_stats_latest`` would have read the
    other group's table instead of the view, so a query naming it is refused."""
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    _stored_before_the_rule(store, "user_stats_latest")
    expected = r"'user_stats_latest' is ambiguous.*view of group 'user_stats' and feature group"
    with pytest.raises(SqlError, match=expected):
        run_sql(store, "SELECT * FROM user_stats_latest")
    assert run_sql(store, "SELECT count(*) AS n FROM user_stats")["n"].to_list() == [5]


# --- training sets -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["user_stats_latest", "anything_latest"])
def test_a_training_set_definition_may_not_end_in_latest(name: str) -> None:
    with pytest.raises(NameClashError, match=f"training set name '{name}' ends in '_latest'"):
        _training_set(name)


def test_a_training_set_definition_may_not_take_the_name_of_a_group_it_reads() -> None:
    with pytest.raises(NameClashError, match="training set 'user_stats' has the name of feature"):
        _training_set("user_stats")


def test_training_sets_and_groups_of_a_deployment_have_distinct_names() -> None:
    other = _training_set("churn")
    check_training_set_names([other], ["user_stats"])
    with pytest.raises(NameClashError, match=r"'churn'.*e\.g\. 'churn_training'"):
        check_training_set_names([other], ["user_stats", "churn"])


@pytest.mark.parametrize("name", ["user_stats", "user_stats_latest"])
def test_writing_a_training_set_under_a_group_or_view_name_is_refused(
    store: FeatureStore, name: str
) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    with pytest.raises(NameClashError, match=name):
        write_training_set(store.catalog, store.config, name, _frame(99))
    assert _training_tables(store.catalog, store) == []
    # The group's SQL table is still the group.
    assert run_sql(store, "SELECT count(*) AS n FROM user_stats")["n"].to_list() == [5]


def test_a_group_cannot_take_the_name_of_a_stored_training_set(store: FeatureStore) -> None:
    write_training_set(store.catalog, store.config, "churn", _frame(1))
    with pytest.raises(NameClashError, match=r"training set 'churn'.*share one name space"):
        store.apply(user_group(name="churn"))
    assert store.list_feature_groups() == []


def test_sql_refuses_a_training_set_stored_under_a_group_name_before_the_rule(
    store: FeatureStore,
) -> None:
    store.apply(user_group())
    store.write_window("user_stats", user_frame(), DAY_START, NEXT_DAY)
    namespace = training_set_namespace(store.config)
    store.catalog.create_namespace(namespace)
    store.catalog.create_table((namespace, "user_stats"), schema=_frame(1).frame.to_arrow().schema)
    with pytest.raises(SqlError, match=r"'user_stats' is ambiguous.*training set"):
        run_sql(store, "SELECT * FROM user_stats")
    assert run_sql(store, "SELECT count(*) AS n FROM user_stats_latest")["n"].to_list() == [5]


# --- Snowflake: upper-cased names, tables and views in one schema ------------------------------


def test_snowflake_refuses_a_table_named_like_another_groups_view() -> None:
    """``user_stats_latest`` (stored before the rule) would be ``USER_STATS_LATEST``, the view
    of ``user_stats``; and with a custom suffix, the same holds for names ending in it."""
    legacy = FeatureGroup.from_dict({**user_group().to_dict(), "name": "user_stats_latest"})
    with pytest.raises(NameClashError, match=r"USER_STATS_LATEST.*'user_stats'"):
        table_name(legacy, make_settings())
    current = make_settings(view_suffix="_current")
    with pytest.raises(NameClashError, match="USER_STATS_CURRENT"):
        table_name(user_group(name="user_stats_current"), current)
    with pytest.raises(NameClashError, match="FEATURE_PLATFORM_SNOWFLAKE__VIEW_SUFFIX"):
        view_name(user_group(name="user_stats_current"), make_settings(view_suffix="_CURRENT"))


def test_snowflake_names_that_only_look_alike_are_kept() -> None:
    """``current`` with suffix ``_CURRENT`` is no other table's view (the other name would be
    empty); a table prefix is on both sides, so it changes nothing."""
    settings = make_settings(view_suffix="_current", table_prefix="FS_")
    assert table_name(user_group(name="current"), settings) == "FS_CURRENT"
    assert view_name(user_group(name="user_stats"), settings) == "FS_USER_STATS_CURRENT"
    assert view_name(user_group(name="latest"), make_settings()) == "LATEST_LATEST"


def test_groups_stored_before_the_rule_still_load() -> None:
    """Stored specs are read back as they are (one such table must not break every listing);
    only new tables are held to the rule, and the exemption ends with the reading."""
    stored = {**user_group(ttl=dt.timedelta(days=1)).to_dict(), "name": "clicks_latest"}
    assert FeatureGroup.from_json(json.dumps(stored)).name == "clicks_latest"
    with pytest.raises(NameClashError):
        user_group(name="clicks_latest")


def test_the_deployment_refuses_a_training_set_named_like_one_of_its_groups() -> None:
    from feature_platform.definitions import build_definitions
    from feature_platform.demo.feature_groups import DEMO_FEATURE_GROUPS

    clashing = _training_set("user_engagement")
    with pytest.raises(NameClashError, match="training set 'user_engagement' has the name"):
        build_definitions(DEMO_FEATURE_GROUPS, [clashing])
