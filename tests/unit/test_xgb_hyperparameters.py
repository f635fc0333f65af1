"""Hyperparameter validation: the container's order, texts and per-version differences."""

from __future__ import annotations

import contextlib
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.emulator.algorithms.xgboost.errors import AlgorithmError, UserError
from backends.emulator.algorithms.xgboost.hyperparameters import (
    Kind,
    hyperparameter_table,
    validate_hyperparameters,
)
from backends.emulator.algorithms.xgboost.versions import VERSIONS
from harness.requests import SEED_HYPERPARAMETERS

SEED = SEED_HYPERPARAMETERS
ALL_VERSIONS = list(VERSIONS)
NEW = ["1.2-1", "1.2-2", "1.3-1", "1.5-1", "1.7-1", "3.0-5", "3.2-0"]
OLD = ["1", "0.90-1", "0.90-2", "1.0-1"]


def hp(**values: str) -> dict[str, str]:
    return {"num_round": "10", **values}


def user_error(values: dict[str, str], version: str = "1.7-1") -> str:
    with pytest.raises(UserError) as info:
        validate_hyperparameters(values, version)
    assert type(info.value) is UserError
    return str(info.value)


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_seed_hyperparameters_validate_in_every_version(version: str) -> None:
    assert validate_hyperparameters(SEED, version) == {
        "max_depth": 5,
        "eta": 0.2,
        "gamma": 4.0,
        "min_child_weight": 6.0,
        "subsample": 0.8,
        "objective": "reg:linear",
        "early_stopping_rounds": 10,
        "num_round": 200,
    }


def test_parsed_types_follow_the_declared_kinds() -> None:
    validated = validate_hyperparameters(
        hp(
            eval_metric="rmse,mae",
            objective="reg:squarederror",
            tree_method="hist",
            monotone_constraints="(1,0,-1)",
            interaction_constraints="[[1, 2], [3]]",
            updater="grow_colmaker,prune",
            booster="gbtree",
        ),
        "1.7-1",
    )
    assert validated["eval_metric"] == ["rmse", "mae"]
    assert validated["monotone_constraints"] == (1, 0, -1)
    assert validated["interaction_constraints"] == [[1, 2], [3]]
    assert validated["updater"] == ["grow_colmaker", "prune"]
    assert validated["num_round"] == 10


def test_missing_num_round_is_reported_before_anything_else() -> None:
    assert user_error({"foo": "1", "eta": "abc"}) == "Missing required hyperparameter: num_round"


def test_unknown_name_is_extraneous() -> None:
    assert user_error(hp(foo="1")) == "Extraneous hyperparameter found: foo"


@pytest.mark.parametrize("version", OLD)
def test_silent_is_accepted_up_to_1_0_1(version: str) -> None:
    assert validate_hyperparameters(hp(silent="1"), version)["silent"] == 1


@pytest.mark.parametrize("version", NEW)
def test_silent_is_extraneous_from_1_2_1(version: str) -> None:
    assert user_error(hp(silent="1"), version) == "Extraneous hyperparameter found: silent"


@pytest.mark.parametrize(
    ("alias", "name"),
    [("learning_rate", "eta"), ("min_split_loss", "gamma"), ("reg_lambda", "lambda"), ("reg_alpha", "alpha")],
)
def test_aliases_from_0_90_2(alias: str, name: str) -> None:
    assert validate_hyperparameters(hp(**{alias: "0.5"}), "0.90-2") == {"num_round": 10, name: 0.5}
    assert user_error(hp(**{alias: "0.5"}), "0.90-1") == f"Extraneous hyperparameter found: {alias}"


def test_alias_range_errors_use_the_real_name() -> None:
    assert user_error(hp(learning_rate="2")) == "Hyperparameter eta: 2.0 is not in [0, 1]"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("num_round", "10.0"),
        ("max_depth", "five"),
        ("eta", "abc"),
        ("seed", ""),
        ("early_stopping_rounds", "1e3"),
    ],
)
def test_unparsable_values(name: str, value: str) -> None:
    assert (
        user_error({"num_round": "10", name: value})
        == f"Hyperparameter {name}: could not parse value (caused by ValueError)"
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("eta", "2", "Hyperparameter eta: 2.0 is not in [0, 1]"),
        ("subsample", "0", "Hyperparameter subsample: 0.0 is not in (0, 1]"),
        ("max_depth", "-1", "Hyperparameter max_depth: -1 is not in [0, +inf)"),
        ("num_round", "0", "Hyperparameter num_round: 0 is not in [1, +inf)"),
        ("num_class", "1", "Hyperparameter num_class: 1 is not in [2, +inf)"),
        ("sketch_eps", "1", "Hyperparameter sketch_eps: 1.0 is not in (0, 1)"),
        ("tweedie_variance_power", "2", "Hyperparameter tweedie_variance_power: 2.0 is not in (1, 2)"),
        ("seed", "2147483647", "Hyperparameter seed: 2147483647 is not in (-2147483648, 2147483647)"),
        ("prob_buffer_row", "1", "Hyperparameter prob_buffer_row: 1 is not in (1.0, +inf)"),
        ("scale_pos_weight", "0", "Hyperparameter scale_pos_weight: 0.0 is not in (0, +inf)"),
        ("verbosity", "4", "Hyperparameter verbosity: 4 is not in [0, 3]"),
        ("booster", "foo", "Hyperparameter booster: foo is not in ['gbtree', 'gblinear', 'dart']"),
        (
            "save_model_on_termination",
            "True",
            "Hyperparameter save_model_on_termination: True is not in ['true', 'false']",
        ),
        (
            "tree_method",
            "fast",
            "Hyperparameter tree_method: fast is not in ['auto', 'exact', 'approx', 'hist', 'gpu_hist']",
        ),
        (
            "_tuning_objective_metric",
            "train:rmse",
            "Hyperparameter _tuning_objective_metric: train:rmse is not in ['validation:accuracy'",
        ),
        (
            "updater",
            "grow_quantile_histmaker",
            "Hyperparameter updater: value ['grow_quantile_histmaker'] not in range ['grow_colmaker'",
        ),
        (
            "eval_metric",
            "rmse,foo",
            "Hyperparameter eval_metric: value ['rmse', 'foo'] not in range ['accuracy', 'auc'",
        ),
    ],
)
def test_range_messages(name: str, value: str, message: str) -> None:
    assert user_error({"num_round": "10", "objective": "binary:logistic", name: value}).startswith(message)


def test_nan_passes_intervals_as_in_the_container() -> None:
    assert str(validate_hyperparameters(hp(eta="nan"), "1.7-1")["eta"]) == "nan"


def test_objective_lists_differ_per_version() -> None:
    assert (
        validate_hyperparameters(hp(objective="reg:absoluteerror"), "1.7-1")["objective"]
        == "reg:absoluteerror"
    )
    assert user_error(hp(objective="reg:absoluteerror"), "1.5-1").startswith(
        "Hyperparameter objective: reg:absoluteerror is not in ['aft_loss_distribution', "
    )
    assert user_error(hp(objective="reg:squaredlogerror"), "0.90-2").startswith(
        "Hyperparameter objective: reg:squaredlogerror is not in ['binary:logistic', "
    )
    assert validate_hyperparameters(hp(objective="reg:squaredlogerror"), "1.0-1")


def test_sdk_v2_json_quoted_strings_are_rejected_like_the_container() -> None:
    assert user_error(hp(objective='"reg:squarederror"')).startswith(
        'Hyperparameter objective: "reg:squarederror" is not in ['
    )


@pytest.mark.parametrize("version", ["0.90-1", "0.90-2", "1.0-1"])
@pytest.mark.parametrize(("name", "value"), [("tree_method", "gpu_hist"), ("predictor", "gpu_predictor")])
def test_gpu_is_refused_before_1_2_1(version: str, name: str, value: str) -> None:
    assert user_error(hp(**{name: value}), version) == "GPU training is not supported yet."


def test_gpu_values_validate_from_1_2_1() -> None:
    assert validate_hyperparameters(hp(tree_method="gpu_hist", predictor="gpu_predictor"), "1.2-1")


def test_old_predictor_range() -> None:
    assert (
        user_error(hp(predictor="auto"), "0.90-1")
        == "Hyperparameter predictor: auto is not in ['cpu_predictor']"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "auc@0.5",
            "Metric 'auc@0.5' is not supported. Parameter 'eval_metric' with customized threshold should "
            "be one of these options: 'error', 'ndcg', 'map'.",
        ),
        ("error@abc", "Threshold value 't' in 'error@t' expects float input."),
        ("<function f at 0x1>", "User defined evaluation metric <function f at 0x1> is not supported yet."),
    ],
)
def test_eval_metric_custom_rules(value: str, message: str) -> None:
    assert user_error(hp(objective="binary:logistic", eval_metric=value)) == message


def test_thresholded_metrics_are_accepted() -> None:
    validated = validate_hyperparameters(
        hp(objective="rank:ndcg", eval_metric="ndcg@5,error@0.7,map"), "1.7-1"
    )
    assert validated["eval_metric"] == ["ndcg@5", "error@0.7", "map"]


def test_metric_lists_differ_per_version() -> None:
    assert validate_hyperparameters(hp(objective="reg:squarederror", eval_metric="mape"), "1.3-1")
    assert user_error(hp(objective="reg:squarederror", eval_metric="mape"), "1.2-2").startswith(
        "Hyperparameter eval_metric: value ['mape'] not in range"
    )
    assert user_error(hp(objective="reg:squarederror", eval_metric="rmsle"), "0.90-2").startswith(
        "Hyperparameter eval_metric: value ['rmsle'] not in range"
    )


def test_multiclass_objectives_need_num_class() -> None:
    for objective in ("multi:softmax", "multi:softprob"):
        message = user_error(hp(objective=objective))
        assert message == "Require input for parameter 'num_class' for multi-classification"
        assert validate_hyperparameters(hp(objective=objective, num_class="3"), "1.7-1")["num_class"] == 3


def test_num_class_with_another_objective_is_accepted() -> None:
    assert validate_hyperparameters(hp(objective="reg:squarederror", num_class="3"), "1.7-1")


def test_auc_needs_a_classification_or_ranking_objective() -> None:
    assert user_error(hp(objective="reg:squarederror", eval_metric="rmse,auc")) == (
        "Metric 'auc' can only be applied for classification and ranking problems."
    )
    assert validate_hyperparameters(hp(objective="rank:pairwise", eval_metric="auc"), "1.7-1")


def test_aft_metric_needs_the_aft_objective() -> None:
    assert user_error(hp(objective="reg:squarederror", eval_metric="aft-nloglik"), "1.2-1") == (
        "Metric 'aft-nloglik' can only be applied for 'survival:aft' objective."
    )
    assert validate_hyperparameters(hp(objective="survival:aft", eval_metric="aft-nloglik"), "1.7-1")


@pytest.mark.parametrize("version", NEW)
def test_eval_metric_without_objective_is_a_raw_key_error_from_1_2_1(version: str) -> None:
    with pytest.raises(KeyError) as info:
        validate_hyperparameters(hp(eval_metric="rmse"), version)
    assert str(info.value) == "'objective'"


@pytest.mark.parametrize("version", OLD)
def test_eval_metric_without_objective_is_fine_before_1_2_1_unless_auc(version: str) -> None:
    assert validate_hyperparameters(hp(eval_metric="rmse"), version)["eval_metric"] == ["rmse"]
    with pytest.raises(KeyError):
        validate_hyperparameters(hp(eval_metric="auc"), version)


def test_monotone_constraints() -> None:
    assert validate_hyperparameters(hp(tree_method="exact", monotone_constraints="(1,0,-1)"), "1.7-1")
    assert user_error(hp(monotone_constraints="(1,0,-1)")) == (
        "monotone_constraints can be used only when the tree_method parameter is set to "
        "either 'exact' or 'hist'."
    )
    assert user_error(hp(tree_method="hist", monotone_constraints="(1,2)")) == (
        "Hyperparameter monotone_constraints: value (1, 2) not in range [-1, 0, 1]"
    )
    assert user_error(hp(monotone_constraints="(1,0)"), "0.90-2") == (
        "Extraneous hyperparameter found: monotone_constraints"
    )


def test_monotone_constraints_are_not_evaluated_as_code() -> None:
    # The container eval()s this value; here anything but a literal is a parse error.
    assert user_error(hp(tree_method="exact", monotone_constraints="__import__('os').getcwd()")) == (
        "Hyperparameter monotone_constraints: could not parse value (caused by ValueError)"
    )


def test_interaction_constraints() -> None:
    assert validate_hyperparameters(hp(tree_method="approx", interaction_constraints="[[1, 2]]"), "1.7-1")
    assert user_error(hp(tree_method="hist", interaction_constraints="[[0, 1]]")) == (
        "Hyperparameter interaction_constraints: value [[0, 1]] not in range [1, +inf)"
    )
    assert user_error(hp(interaction_constraints="[[1, 2]]")) == (
        "interaction_constraints can be used only when the tree_method parameter is set to either 'exact', "
        "'hist' or 'approx'."
    )


def test_unexpected_range_failures_are_algorithm_errors() -> None:
    with pytest.raises(AlgorithmError) as info:
        validate_hyperparameters(hp(tree_method="hist", interaction_constraints="[['a']]"), "1.7-1")
    assert str(info.value) == (
        "Hyperparameter interaction_constraints: unexpected failure when validating [['a']] "
        "(caused by TypeError)"
    )


def test_updater_rules() -> None:
    assert validate_hyperparameters(hp(booster="gblinear", updater="shotgun"), "1.7-1")
    garbled = user_error(hp(booster="gblinear", updater="grow_colmaker"))
    assert garbled.startswith(
        "Linear updater should be one of these options: ', <, g, e, n, e, r, a, t, o, r"
    )
    assert re.search(r"a, t,  , 0, x(, [0-9a-f])+, >, '\.$", garbled)
    assert user_error(hp(process_type="update", updater="grow_colmaker")) == (
        "process_type 'update' can only be used with updater 'refresh' and 'prune'"
    )
    assert user_error(hp(updater="shotgun")) == (
        "Tree updater should be selected from these options: 'grow_colmaker', 'distcol', 'grow_histmaker', "
        "'grow_skmaker', 'grow_quantile_histmaker', 'sync', 'refresh', 'prune', 'shortgun', 'coord_descent'."
    )
    assert user_error(hp(updater="grow_colmaker,grow_histmaker")) == (
        "Only one tree grow plugin can be selected. Choose one from thefollowing: 'grow_colmaker', "
        "'distcol', "
        "'grow_histmaker', 'grow_skmaker'"
    )
    assert "'grow_local_histmaker'" in user_error(hp(updater="grow_colmaker,grow_local_histmaker"), "1.5-1")


def test_parsing_runs_in_the_users_order() -> None:
    assert user_error({"num_round": "1", "eta": "x", "foo": "1"}).startswith(
        "Hyperparameter eta: could not parse"
    )
    assert user_error({"num_round": "1", "foo": "1", "eta": "x"}) == "Extraneous hyperparameter found: foo"


def test_range_checks_run_in_the_users_order() -> None:
    assert user_error({"num_round": "1", "eta": "2", "max_depth": "-1"}).startswith("Hyperparameter eta")
    assert user_error({"num_round": "1", "max_depth": "-1", "eta": "2"}).startswith(
        "Hyperparameter max_depth"
    )


def test_range_checks_come_before_dependency_rules() -> None:
    assert user_error(hp(objective="multi:softmax", eta="2")) == "Hyperparameter eta: 2.0 is not in [0, 1]"


def test_dependency_rules_run_dependencies_first_then_in_the_users_order() -> None:
    auc_first = {
        "num_round": "1",
        "eval_metric": "auc",
        "objective": "reg:linear",
        "monotone_constraints": "(1,)",
    }
    assert user_error(auc_first).startswith("Metric 'auc'")
    monotone_first = {
        "num_round": "1",
        "monotone_constraints": "(1,)",
        "eval_metric": "auc",
        "objective": "reg:linear",
    }
    assert user_error(monotone_first).startswith("monotone_constraints can be used only")


@pytest.mark.parametrize("version", ALL_VERSIONS)
def test_table_matches_the_version_names(version: str) -> None:
    assert set(hyperparameter_table(version)) == VERSIONS[version].hyperparameters


_SCALAR_NAMES = sorted(
    name
    for name, spec in hyperparameter_table("1.7-1").items()
    if spec.kind not in (Kind.TUPLE, Kind.NESTED_LIST) and name != "objective"
)


@settings(max_examples=300, deadline=None)
@given(
    values=st.dictionaries(st.sampled_from(_SCALAR_NAMES), st.text(max_size=20), max_size=6),
    objective=st.sampled_from(VERSIONS["1.7-1"].objectives),
    version=st.sampled_from(ALL_VERSIONS),
)
def test_arbitrary_scalar_values_only_ever_raise_user_errors(
    values: dict[str, str], objective: str, version: str
) -> None:
    raw: dict[str, Any] = {**values, "objective": objective}
    with contextlib.suppress(UserError):
        validate_hyperparameters(raw, version)


@settings(max_examples=100, deadline=None)
@given(value=st.text(max_size=30), name=st.sampled_from(["monotone_constraints", "interaction_constraints"]))
def test_constraint_values_never_escape_as_unexpected_exceptions(value: str, name: str) -> None:
    # Literal parsing may raise SyntaxError (as eval/literal_eval do in the container); anything else is
    # one of the container's exception classes.
    with contextlib.suppress(UserError, AlgorithmError, SyntaxError):
        validate_hyperparameters(hp(tree_method="hist", **{name: value}), "1.7-1")
