"""Everything that differs between the XGBoost container versions, in one table.

Each image tag the SDKs resolve (`1`, `0.90-1` ... `3.2-0`) gets one frozen `ContainerVersion`. The
values were read from the image's branch of aws/sagemaker-xgboost-container and from the XGBoost release that
image pins (see shared/reference/xgboost-container.md); the training, validation and serving modules only
read these fields, so a difference between versions lives here and nowhere else.

The legacy `1` image (repository `xgboost`, XGBoost 0.72) is not in that repository. It is emulated with
0.90-1's rules, except that `reg:linear` is its native objective name rather than a deprecated alias: 0.72
trains `reg:linear` as squared error, exactly like XGBoost 3's `reg:squarederror`, so the models agree and
only the deprecation warning that 0.90+ prints is left out. (Its Python 2.7 pickles are likewise written with
0.90-1's protocol: no XGBoost 0.72 could read an XGBoost 3 Booster either way.)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum


class EarlyStoppingStyle(Enum):
    # xgb.train(early_stopping_rounds=N) up to XGBoost 1.2: watches the last entry of the evaluation list,
    # keeps every tree and records best_ntree_limit for prediction.
    LEGACY = "legacy"
    # xgb.callback.EarlyStopping(save_best=True) from image 1.3-1: needs a named metric (eval_metric or the
    # tuning metric) and returns the model truncated to its best iteration.
    CALLBACK = "callback"


class ModelFormat(Enum):
    PICKLE = "pickle"
    JSON = "json"
    UBJSON = "ubj"


class ChannelLayout(Enum):
    # Up to 1.5-1 XGBoost reads the first leaf directory `os.walk` finds under the channel.
    FIRST_LEAF_DIRECTORY = "first-leaf-directory"
    # From 1.7-1 every file down to three directory levels is read as one data set.
    NESTED = "nested"


class MetricPredictions(Enum):
    """What the container-computed metrics (its `feval`) receive from XGBoost."""

    TRANSFORMED = "transformed"  # XGBoost < 1.2 and the 3.x `custom_metric=` call
    MARGIN = "margin"  # XGBoost 1.2 ... 1.7 pass raw margins to `feval`


class ClassLabelRule(Enum):
    """How the container turns predictions into class labels for accuracy, f1, precision, recall."""

    ROUND = "round"  # 0.90: round() every prediction
    ROUND_OR_ARGMAX = "round-or-argmax"  # 1.0-1: argmax of probability rows, round() otherwise
    SIGN_OR_ARGMAX = "sign-or-argmax"  # 1.2-1+: argmax of rows, margin > 0 otherwise


class ResponseStyle(Enum):
    # 0.90-x ... 1.2-1: no Accept check; every real-time answer is text/csv, predictions joined by ",".
    COMMA_JOINED = "comma-joined"
    # 1.2-2+: Accept chooses the encoder (csv one prediction per line, json {"predictions": ...}).
    BY_ACCEPT = "by-accept"


class LoadErrorStyle(Enum):
    """The text of the error when no model file can be loaded, which differs per image."""

    ARGUMENTS_TUPLE = "arguments-tuple"  # 0.90-1: RuntimeError("Unable to load model: %s %s", e1, e2)
    AT_DIRECTORY = "at-directory"  # 0.90-2, 1.0-1: "Model at {model_dir} cannot be loaded:\n{e1}\n{e2}"
    AT_FILE = "at-file"  # 1.2-2: "Model at {file} cannot be loaded:\n{e1}\n{e2}"
    LABELLED = "labelled"  # others: "Model {file} cannot be loaded:\nPickle load error=..."


@dataclass(frozen=True)
class ContainerVersion:
    key: str
    xgboost_release: str
    hyperparameters: frozenset[str]
    aliases: tuple[tuple[str, str], ...]  # (alias, name)
    objectives: tuple[str, ...]
    tree_methods: tuple[str, ...]
    predictors: tuple[str, ...]
    rejects_gpu: bool  # "GPU training is not supported yet." for tree_method / predictor values
    updater_range: tuple[str, ...]
    tree_updaters: tuple[str, ...]
    tree_grow_updaters: tuple[str, ...]
    tree_updater_message: str
    tree_grow_message: str
    maximize_metrics: tuple[str, ...]
    minimize_metrics: tuple[str, ...]
    container_metrics: tuple[str, ...]  # computed in Python by the container, not by XGBoost
    metric_predictions: MetricPredictions
    class_label_rule: ClassLabelRule
    # 1.2-1+ read dependencies["objective"] unconditionally: eval_metric without objective is a raw KeyError.
    eval_metric_needs_objective: bool
    checks_aft_metric: bool
    # Default metrics of this release's XGBoost where they differ from XGBoost 3.2's.
    default_metrics: tuple[tuple[str, str], ...]
    # XGBoost <= 1.5 prints built-in metric values with 6 decimals; callbacks and early stopping see those.
    native_metric_decimals: int
    metric_format: str  # "g" (XGBoost 0.72/0.90 `%g`) or ".5f"
    early_stopping: EarlyStoppingStyle
    model_format: ModelFormat
    pickle_protocol: int
    channel_layout: ChannelLayout
    logs_matrix_columns: bool
    checks_data_redundancy: bool
    prints_debug_traces: bool  # 3.x images print TRAIN_JOB_DEBUG / FINAL_MODEL_* lines
    reg_linear_deprecated: bool
    customer_errors: tuple[str, ...]
    response_style: ResponseStyle
    load_error_style: LoadErrorStyle
    shifts_one_based_libsvm: bool  # the master branch (3.2) shifts 1-based libsvm payload indices
    # Where the image's Python keeps its packages (BRANCH:docker/<v>/final/Dockerfile.cpu): a failure's traceback
    # shows the container's frames under it.
    site_packages: str = "/miniconda3/lib/python3.7/site-packages"
    # Lines smdebug logs when the training module imports it (smdebug.xgboost), as (file, line, message):
    # images that install sagemaker-debugger and import its Hook from sagemaker_xgboost_container.callback.
    smdebug_lines: tuple[tuple[str, int, str], ...] = ()
    logs_gpu_count: bool = False  # "Determined 0 GPU(s) available on the instance." (1.5-1+)
    # The line of the image's xgboost/training.py that warns "`feval` is deprecated" (0: that release does not).
    feval_warning_line: int = 0

    @property
    def alias_map(self) -> dict[str, str]:
        return dict(self.aliases)

    @property
    def metrics(self) -> tuple[str, ...]:
        return self.maximize_metrics + self.minimize_metrics

    @property
    def tuning_metric_names(self) -> list[str]:
        return [f"validation:{name}" for name in self.metrics]

    def default_metric(self, objective: str) -> str | None:
        return dict(self.default_metrics).get(objective)

    def is_customer_error(self, text: str) -> bool:
        """Whether an error raised inside training is the user's (UserError) rather than the algorithm's."""
        return any(
            fragment in text
            for message in self.customer_errors
            for fragment in (message, *_XGBOOST_3_WORDING.get(message, ()))
        )


# Hyperparameter names per image, as declared in each branch's hyperparameter_validation.py.
_HP_0_90_1 = frozenset(
    {
        "num_round", "csv_weights", "early_stopping_rounds", "booster", "silent", "verbosity", "nthread",
        "eta", "gamma", "max_depth", "min_child_weight", "max_delta_step", "subsample", "colsample_bytree",
        "colsample_bylevel", "colsample_bynode", "lambda", "alpha", "tree_method", "sketch_eps",
        "scale_pos_weight", "updater", "dsplit", "refresh_leaf", "process_type", "grow_policy", "max_leaves",
        "max_bin", "predictor", "sample_type", "normalize_type", "rate_drop", "one_drop", "skip_drop",
        "lambda_bias", "tweedie_variance_power", "objective", "num_class", "base_score",
        "_tuning_objective_metric", "eval_metric", "seed",
    }
)  # fmt: skip
_HP_0_90_2 = _HP_0_90_1 | {"num_parallel_tree"}
_HP_1_0_1 = _HP_0_90_2 | {"monotone_constraints", "interaction_constraints", "save_model_on_termination"}
_HP_1_2_1 = (_HP_1_0_1 - {"silent"}) | {
    "_nfold",
    "aft_loss_distribution",
    "aft_loss_distribution_scale",
    "deterministic_histogram",
    "single_precision_histogram",
}
_HP_1_2_2 = (_HP_1_2_1 - {"_nfold"}) | {"_kfold", "_num_cv_round"}
_HP_1_3_1 = _HP_1_2_2 | {"sampling_method", "prob_buffer_row"}
_HP_1_5_1 = _HP_1_3_1 | {"use_dask_gpu_training"}
_HP_1_7_1 = _HP_1_5_1 - {"single_precision_histogram"}

_ALIASES = (
    ("learning_rate", "eta"),
    ("min_split_loss", "gamma"),
    ("reg_lambda", "lambda"),
    ("reg_alpha", "alpha"),
)

_OBJECTIVES_0_90 = (
    "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson", "multi:softmax", "multi:softprob",
    "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear", "reg:squarederror", "reg:logistic", "reg:gamma",
    "reg:tweedie", "survival:cox",
)  # fmt: skip
_OBJECTIVES_1_0 = (*_OBJECTIVES_0_90[:13], "reg:squaredlogerror", *_OBJECTIVES_0_90[13:])
# "aft_loss_distribution" is listed as an objective by mistake in the container; it is kept, as it validates.
_OBJECTIVES_1_2 = (
    "aft_loss_distribution", "binary:logistic", "binary:logitraw", "binary:hinge", "count:poisson",
    "multi:softmax", "multi:softprob", "rank:pairwise", "rank:ndcg", "rank:map", "reg:linear",
    "reg:squarederror", "reg:logistic", "reg:gamma", "reg:pseudohubererror", "reg:squaredlogerror",
    "reg:tweedie", "survival:aft", "survival:cox",
)  # fmt: skip
_OBJECTIVES_1_7 = (*_OBJECTIVES_1_2[:16], "reg:absoluteerror", *_OBJECTIVES_1_2[16:])

_UPDATER_RANGE_OLD = (
    "grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker", "grow_skmaker", "sync", "refresh",
    "prune", "grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker", "grow_colmaker", "shotgun",
    "coord_descent", "refresh", "prune",
)  # fmt: skip
_UPDATER_RANGE_1_7 = tuple(u for u in _UPDATER_RANGE_OLD if u != "grow_local_histmaker")

_TREE_UPDATERS_0_90 = (
    "grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker", "grow_skmaker", "sync", "refresh",
    "prune",
)  # fmt: skip
_TREE_UPDATERS_1_0 = (*_TREE_UPDATERS_0_90, "grow_quantile_histmaker")
_TREE_UPDATERS_1_7 = tuple(u for u in _TREE_UPDATERS_1_0 if u != "grow_local_histmaker")
_GROW_UPDATERS_0_90 = ("grow_colmaker", "distcol", "grow_histmaker", "grow_local_histmaker", "grow_colmaker")
_GROW_UPDATERS_1_0 = (*_GROW_UPDATERS_0_90, "grow_quantile_histmaker")
_GROW_UPDATERS_1_7 = tuple(u for u in _GROW_UPDATERS_1_0 if u != "grow_local_histmaker")

_TREE_MESSAGE = "Tree updater should be selected from these options: {}, 'shortgun', 'coord_descent'."
_TREE_MESSAGE_0_90 = _TREE_MESSAGE.format(
    "'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_local_histmaker', 'grow_skmaker', 'sync', "
    "'refresh', 'prune'"
)
_TREE_MESSAGE_1_0 = _TREE_MESSAGE.format(
    "'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_local_histmaker', 'grow_skmaker', "
    "'grow_quantile_histmaker', 'sync', 'refresh', 'prune'"
)
_TREE_MESSAGE_1_7 = _TREE_MESSAGE.format(
    "'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_skmaker', 'grow_quantile_histmaker', 'sync', "
    "'refresh', 'prune'"
)
# "thefollowing" (sic): the container's string concatenation drops the space.
_GROW_MESSAGE = "Only one tree grow plugin can be selected. Choose one from thefollowing: {}"
_GROW_MESSAGE_OLD = _GROW_MESSAGE.format(
    "'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_local_histmaker', 'grow_skmaker'"
)
_GROW_MESSAGE_1_7 = _GROW_MESSAGE.format("'grow_colmaker', 'distcol', 'grow_histmaker', 'grow_skmaker'")

# The 0.90 lists put cox/gamma/poisson/tweedie-nloglik under "maximize" (a container bug, kept).
_MAXIMIZE_0_90 = (
    "accuracy", "auc", "aucpr", "cox-nloglik", "f1", "gamma-nloglik", "map", "ndcg", "poisson-nloglik",
    "tweedie-nloglik",
)  # fmt: skip
_MINIMIZE_0_90 = ("error", "gamma-deviance", "logloss", "mae", "merror", "mlogloss", "mse", "rmse")
_MAXIMIZE_1_0 = ("accuracy", "auc", "aucpr", "f1", "map", "ndcg")
_MINIMIZE_1_0 = (
    "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "logloss", "mae", "merror", "mlogloss", "mse",
    "poisson-nloglik", "rmse", "rmsle", "tweedie-nloglik",
)  # fmt: skip
_MAXIMIZE_1_2_1 = (*_MAXIMIZE_1_0, "r2")
_MINIMIZE_1_2 = (
    "aft-nloglik", "cox-nloglik", "error", "gamma-deviance", "gamma-nloglik", "interval-regression-accuracy",
    "logloss", "mae", "merror", "mlogloss", "mphe", "mse", "poisson-nloglik", "rmse", "rmsle",
    "tweedie-nloglik",
)  # fmt: skip
_MAXIMIZE_1_2_2 = ("accuracy", "auc", "aucpr", "f1", "f1_binary", "f1_macro", "map", "ndcg", "r2")
_MAXIMIZE_1_3 = (
    "accuracy", "auc", "aucpr", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "map", "ndcg",
    "precision", "r2", "recall", "precision_macro", "precision_micro", "recall_macro", "recall_micro",
)  # fmt: skip
_MINIMIZE_1_3 = (*_MINIMIZE_1_2[:8], "mape", *_MINIMIZE_1_2[8:])

_CONTAINER_METRICS_0_90 = ("accuracy", "f1", "mse")
_CONTAINER_METRICS_1_2_1 = ("accuracy", "f1", "mse", "r2")
_CONTAINER_METRICS_1_2_2 = ("accuracy", "f1", "f1_binary", "f1_macro", "mse", "r2")
_CONTAINER_METRICS_1_3 = (
    "accuracy", "balanced_accuracy", "f1", "f1_binary", "f1_macro", "mse", "rmse", "mae", "precision",
    "precision_macro", "precision_micro", "r2", "recall", "recall_macro", "recall_micro",
)  # fmt: skip

# Default metrics that changed: error -> logloss and merror -> mlogloss in XGBoost 1.3, auc -> logloss for
# logitraw in 1.5, gamma-nloglik -> gamma-deviance and map -> map@32 / ndcg@32 for ranking in 2.x/3.x.
_RANKING_MAP = (("rank:pairwise", "map"), ("rank:ndcg", "map"), ("rank:map", "map"))
_DEFAULT_METRICS_1_2 = (
    ("binary:logistic", "error"),
    ("binary:logitraw", "auc"),
    ("multi:softmax", "merror"),
    ("multi:softprob", "merror"),
    ("reg:gamma", "gamma-nloglik"),
    *_RANKING_MAP,
)
_DEFAULT_METRICS_1_3 = (("binary:logitraw", "auc"), ("reg:gamma", "gamma-nloglik"), *_RANKING_MAP)
_DEFAULT_METRICS_1_5 = (("reg:gamma", "gamma-nloglik"), *_RANKING_MAP)

_CUSTOMER_ERRORS_OLD = (
    "label must be in [0,1] for logistic regression",
    "label must be in [0, num_class)",
    "feature_names mismatch",
    "Check failed: preds.size() == info.labels_.size()",
    "Check failed: !auc_error AUC: the dataset only contains pos or neg samples",
    "Check failed: base_score > 0.0f && base_score < 1.0f base_score must be in (0,1) for logistic loss",
    "Check failed: label_correct PoissonRegression: label must be nonnegative",
    "Check failed: label_correct TweedieRegression: label must be nonnegative",
    "Parameter reg_lambda should be greater equal to 0",
)
# XGBoost 3.2 words some of these errors differently; its wording is matched too, so that the same mistakes
# stay user errors (their text is XGBoost 3.2's).
_XGBOOST_3_WORDING = {
    "label must be in [0,1] for logistic regression": ("label must be in (0, 1) for logistic regression",),
    "label must be in [0, num_class)": ("label must be discrete values in the range of [0, num_class)",),
    "Check failed: base_score > 0.0f && base_score < 1.0f base_score must be in (0,1) for logistic loss": (
        "base_score must be in (0,1) for the logistic loss",
    ),
    "Check failed: label_correct PoissonRegression: label must be nonnegative": (
        "label must be non-negative for Poisson/Tweedie regression",
    ),
    "Check failed: label_correct TweedieRegression: label must be nonnegative": (
        "label must be non-negative for Poisson/Tweedie regression",
    ),
}
_CUSTOMER_ERRORS = (
    *_CUSTOMER_ERRORS_OLD[:2],
    "Target is multiclass but average='binary'",
    *_CUSTOMER_ERRORS_OLD[2:],
)

# sagemaker-debugger 1.0.29, which 1.3-1 ... 1.7-1 install: smdebug/core/access_layer/utils.py logs the rule
# stop file at import, and profiler/profiler_config_parser.py (through `_log_new_message`) that profiling is off.
_SMDEBUG_1_0_29 = (
    ("utils.py", 28, "RULE_JOB_STOP_SIGNAL_FILENAME: None"),
    (
        "profiler_config_parser.py",
        111,
        "Unable to find config at /opt/ml/input/config/profilerconfig.json. Profiler is disabled.",
    ),
)

_V0_90_1 = ContainerVersion(
    key="0.90-1",
    xgboost_release="0.90",
    hyperparameters=_HP_0_90_1,
    aliases=(),
    objectives=_OBJECTIVES_0_90,
    tree_methods=("auto", "exact", "approx", "hist"),
    predictors=("cpu_predictor",),
    rejects_gpu=True,
    updater_range=_UPDATER_RANGE_OLD,
    tree_updaters=_TREE_UPDATERS_0_90,
    tree_grow_updaters=_GROW_UPDATERS_0_90,
    tree_updater_message=_TREE_MESSAGE_0_90,
    tree_grow_message=_GROW_MESSAGE_OLD,
    maximize_metrics=_MAXIMIZE_0_90,
    minimize_metrics=_MINIMIZE_0_90,
    container_metrics=_CONTAINER_METRICS_0_90,
    metric_predictions=MetricPredictions.TRANSFORMED,
    class_label_rule=ClassLabelRule.ROUND,
    eval_metric_needs_objective=False,
    checks_aft_metric=False,
    default_metrics=_DEFAULT_METRICS_1_2,
    native_metric_decimals=6,
    metric_format="g",
    early_stopping=EarlyStoppingStyle.LEGACY,
    model_format=ModelFormat.PICKLE,
    pickle_protocol=3,  # pkl.dump() default on the image's Python 3
    channel_layout=ChannelLayout.FIRST_LEAF_DIRECTORY,
    logs_matrix_columns=False,
    checks_data_redundancy=False,
    prints_debug_traces=False,
    reg_linear_deprecated=True,
    customer_errors=_CUSTOMER_ERRORS_OLD,
    response_style=ResponseStyle.COMMA_JOINED,
    load_error_style=LoadErrorStyle.ARGUMENTS_TUPLE,
    shifts_one_based_libsvm=False,
)
_V0_90_2 = dataclasses.replace(
    _V0_90_1,
    key="0.90-2",
    site_packages="/miniconda3/lib/python3.6/site-packages",
    hyperparameters=_HP_0_90_2,
    aliases=_ALIASES,
    load_error_style=LoadErrorStyle.AT_DIRECTORY,
)
_V1_0_1 = dataclasses.replace(
    _V0_90_2,
    key="1.0-1",
    xgboost_release="1.0.0",
    hyperparameters=_HP_1_0_1,
    objectives=_OBJECTIVES_1_0,
    tree_updaters=_TREE_UPDATERS_1_0,
    tree_grow_updaters=_GROW_UPDATERS_1_0,
    tree_updater_message=_TREE_MESSAGE_1_0,
    maximize_metrics=_MAXIMIZE_1_0,
    minimize_metrics=_MINIMIZE_1_0,
    class_label_rule=ClassLabelRule.ROUND_OR_ARGMAX,
    metric_format=".5f",
)
_V1_2_1 = dataclasses.replace(
    _V1_0_1,
    key="1.2-1",
    site_packages="/miniconda3/lib/python3.7/site-packages",
    xgboost_release="1.2.0",
    hyperparameters=_HP_1_2_1,
    objectives=_OBJECTIVES_1_2,
    tree_methods=("auto", "exact", "approx", "hist", "gpu_hist"),
    predictors=("auto", "cpu_predictor", "gpu_predictor"),
    rejects_gpu=False,
    maximize_metrics=_MAXIMIZE_1_2_1,
    minimize_metrics=_MINIMIZE_1_2,
    container_metrics=_CONTAINER_METRICS_1_2_1,
    metric_predictions=MetricPredictions.MARGIN,
    class_label_rule=ClassLabelRule.SIGN_OR_ARGMAX,
    eval_metric_needs_objective=True,
    checks_aft_metric=True,
    pickle_protocol=4,
    logs_matrix_columns=True,
    load_error_style=LoadErrorStyle.LABELLED,
)
_V1_2_2 = dataclasses.replace(
    _V1_2_1,
    key="1.2-2",
    hyperparameters=_HP_1_2_2,
    maximize_metrics=_MAXIMIZE_1_2_2,
    container_metrics=_CONTAINER_METRICS_1_2_2,
    customer_errors=_CUSTOMER_ERRORS,
    response_style=ResponseStyle.BY_ACCEPT,
    load_error_style=LoadErrorStyle.AT_FILE,
)
# 1.3-1 .. 1.7-1 call Booster.save_model(), which writes XGBoost's legacy binary format there. XGBoost 3.2
# cannot write that format any more; JSON is the closest format those releases can load, so it is used.
_V1_3_1 = dataclasses.replace(
    _V1_2_2,
    key="1.3-1",
    smdebug_lines=_SMDEBUG_1_0_29,
    xgboost_release="1.3.3",
    hyperparameters=_HP_1_3_1,
    maximize_metrics=_MAXIMIZE_1_3,
    minimize_metrics=_MINIMIZE_1_3,
    container_metrics=_CONTAINER_METRICS_1_3,
    default_metrics=_DEFAULT_METRICS_1_3,
    early_stopping=EarlyStoppingStyle.CALLBACK,
    model_format=ModelFormat.JSON,
    checks_data_redundancy=True,
    load_error_style=LoadErrorStyle.LABELLED,
)
_V1_5_1 = dataclasses.replace(
    _V1_3_1,
    key="1.5-1",
    site_packages="/miniconda3/lib/python3.8/site-packages",
    logs_gpu_count=True,
    xgboost_release="1.5.2",
    hyperparameters=_HP_1_5_1,
    default_metrics=_DEFAULT_METRICS_1_5,
)
_V1_7_1 = dataclasses.replace(
    _V1_5_1,
    key="1.7-1",
    site_packages="/miniconda3/lib/python3.9/site-packages",
    feval_warning_line=39,  # xgboost 1.7.4 training.py `_configure_custom_metric`
    xgboost_release="1.7.4",
    hyperparameters=_HP_1_7_1,
    objectives=_OBJECTIVES_1_7,
    updater_range=_UPDATER_RANGE_1_7,
    tree_updaters=_TREE_UPDATERS_1_7,
    tree_grow_updaters=_GROW_UPDATERS_1_7,
    tree_updater_message=_TREE_MESSAGE_1_7,
    tree_grow_message=_GROW_MESSAGE_1_7,
    native_metric_decimals=17,
    channel_layout=ChannelLayout.NESTED,
)
_V3_0_5 = dataclasses.replace(
    _V1_7_1,
    key="3.0-5",
    site_packages="/miniconda3/lib/python3.10/site-packages",
    smdebug_lines=(),  # its callback.py no longer imports smdebug
    feval_warning_line=0,  # custom_metric= instead of feval=
    xgboost_release="3.0.5",
    default_metrics=(),
    metric_predictions=MetricPredictions.TRANSFORMED,
    model_format=ModelFormat.UBJSON,
    prints_debug_traces=True,
)
# 3.2-0 exists only in the SDK v3 image table; the repository's master branch (built for XGBoost 3.2) is the
# closest source, and it differs from 3.0-5 in shifting 1-based libsvm indices of inference payloads.
_V3_2_0 = dataclasses.replace(
    _V3_0_5, key="3.2-0", xgboost_release="3.2.0", shifts_one_based_libsvm=True,
    site_packages="/miniconda3/lib/python3.12/site-packages",
)
# The legacy image's tracebacks show /opt/amazon/lib/python2.7/site-packages/sage_xgboost/... (issue tracebacks).
_V1 = dataclasses.replace(
    _V0_90_1, key="1", xgboost_release="0.72", reg_linear_deprecated=False,
    site_packages="/opt/amazon/lib/python2.7/site-packages",
)

VERSIONS: dict[str, ContainerVersion] = {
    v.key: v
    for v in (_V1, _V0_90_1, _V0_90_2, _V1_0_1, _V1_2_1, _V1_2_2, _V1_3_1, _V1_5_1, _V1_7_1, _V3_0_5, _V3_2_0)
}


def get_version(version: str | ContainerVersion) -> ContainerVersion:
    """The rules of a container version key such as "1.7-1" (as `images.AlgorithmImage.version` holds it)."""
    if isinstance(version, ContainerVersion):
        return version
    try:
        return VERSIONS[version]
    except KeyError:
        raise ValueError(
            f"Unknown XGBoost container version {version!r}; known versions: {', '.join(VERSIONS)}"
        ) from None
