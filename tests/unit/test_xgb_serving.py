"""Inference: model loading and `/invocations` answers, compared with in-process XGBoost predictions."""

from __future__ import annotations

import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import xgboost as xgb
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backends.emulator.algorithms.xgboost.model_files import serialize
from backends.emulator.algorithms.xgboost.payloads import csv_matrix
from backends.emulator.algorithms.xgboost.serving import LoadedModel, load_model, predict
from backends.emulator.algorithms.xgboost.versions import VERSIONS

RNG = np.random.default_rng(11)
FEATURES = RNG.normal(size=(40, 4))
LABELS = FEATURES @ np.array([1.5, -2.0, 0.5, 0.0]) + RNG.normal(size=40)


def booster(objective: str = "reg:squarederror", rounds: int = 6, **extra: object) -> xgb.Booster:
    labels = LABELS if objective.startswith("reg") else (np.abs(LABELS).astype(int) % 3)
    params = {"objective": objective, "nthread": 1, "max_depth": 3, **extra}
    return xgb.train(params, xgb.DMatrix(FEATURES, label=labels), rounds)


REGRESSOR = booster()
SOFTPROB = booster("multi:softprob", num_class=3)


def saved(tmp_path: Path, model: xgb.Booster, version: str) -> LoadedModel:
    directory = tmp_path / version
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "xgboost-model").write_bytes(serialize(model, VERSIONS[version]))
    return load_model(directory, version)


def csv_payload(rows: np.ndarray) -> bytes:
    return "\n".join(",".join(repr(float(v)) for v in row) for row in rows).encode()


def expected_lines(predictions: np.ndarray) -> str:
    # The container answers str() of each float32 prediction turned into a Python float.
    return "".join(f"{float(np.float32(p))}\n" for p in predictions)


@pytest.mark.parametrize(
    "version", ["1", "0.90-2", "1.0-1", "1.2-1", "1.2-2", "1.3-1", "1.7-1", "3.0-5", "3.2-0"]
)
def test_batch_csv_is_one_str_per_line_for_every_version(tmp_path: Path, version: str) -> None:
    model = saved(tmp_path, REGRESSOR, version)
    answer = predict(model, csv_payload(FEATURES), "text/csv", "text/csv", batch=True)
    assert answer.status == 200
    assert answer.body.decode() == expected_lines(REGRESSOR.predict(xgb.DMatrix(FEATURES)))
    assert answer.mimetype == "text/csv"


def test_batch_answers_lines_whatever_the_accept(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    answer = predict(model, csv_payload(FEATURES[:3]), "text/csv", "application/json", batch=True)
    assert answer.body.decode() == expected_lines(REGRESSOR.predict(xgb.DMatrix(FEATURES[:3])))
    assert answer.mimetype == "application/json"


def test_realtime_csv_is_one_prediction_per_line_from_1_2_2(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    answer = predict(model, csv_payload(FEATURES[:3]), "text/csv", None, batch=False)
    assert answer.body.decode() == expected_lines(REGRESSOR.predict(xgb.DMatrix(FEATURES[:3])))
    assert answer.mimetype == "text/csv"


@pytest.mark.parametrize("version", ["0.90-1", "1.0-1", "1.2-1"])
def test_realtime_csv_is_comma_joined_up_to_1_2_1(tmp_path: Path, version: str) -> None:
    model = saved(tmp_path, REGRESSOR, version)
    answer = predict(model, csv_payload(FEATURES[:3]), "text/csv", "text/plain", batch=False)
    values = REGRESSOR.predict(xgb.DMatrix(FEATURES[:3]))
    assert answer.status == 200  # no Accept check before 1.2-2
    assert answer.body.decode() == ",".join(str(float(np.float32(v))) for v in values)
    assert answer.mimetype == "text/csv"


def test_realtime_json(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    answer = predict(model, csv_payload(FEATURES[:2]), "text/csv", "application/json", batch=False)
    first, second = (float(np.float32(v)) for v in REGRESSOR.predict(xgb.DMatrix(FEATURES[:2])))
    assert answer.body.decode() == f'{{"predictions": [{{"score": {first}}}, {{"score": {second}}}]}}'
    assert answer.mimetype == "application/json"


def test_multiclass_probabilities(tmp_path: Path) -> None:
    model = saved(tmp_path, SOFTPROB, "1.7-1")
    rows = SOFTPROB.predict(xgb.DMatrix(FEATURES[:2]))
    as_lists = [[float(np.float32(p)) for p in row] for row in rows]
    batch = predict(model, csv_payload(FEATURES[:2]), "text/csv", None, batch=True)
    assert batch.body.decode() == "".join(f"{row}\n" for row in as_lists)
    realtime = predict(model, csv_payload(FEATURES[:2]), "text/csv", "text/csv", batch=False)
    assert realtime.body.decode() == "".join(",".join(map(str, row)) + "\n" for row in as_lists)
    json_answer = predict(model, csv_payload(FEATURES[:1]), "text/csv", "application/json", batch=False)
    assert json_answer.body.decode() == f'{{"predictions": [{{"score": {as_lists[0]}}}]}}'


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/csv"),
        ("*/*", "text/csv"),
        ("text/csv; charset=utf-8", "text/csv"),
        ("TEXT/CSV", "text/csv"),
        ("application/json", "application/json"),
    ],
)
def test_accept_parsing(tmp_path: Path, accept: str | None, expected: str) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    assert predict(model, csv_payload(FEATURES[:1]), "text/csv", accept, batch=False).mimetype == expected


def test_default_accept_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT", "application/json")
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    answer = predict(model, csv_payload(FEATURES[:1]), "text/csv", None, batch=False)
    assert answer.mimetype == "application/json" and answer.body.startswith(b'{"predictions"')


def test_unsupported_accept_is_406_after_predicting(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    answer = predict(model, csv_payload(FEATURES[:1]), "text/csv", "text/plain", batch=False)
    assert answer.status == 406
    assert answer.body.decode() == (
        "Accept type text/plain is not supported. Please use supported accept types: ['application/json', "
        "'application/jsonlines', 'application/x-recordio-protobuf', 'text/csv']."
    )
    # A payload that cannot be predicted fails first, with 400.
    assert (
        predict(model, csv_payload(RNG.normal(size=(1, 9))), "text/csv", "text/plain", batch=False).status
        == 400
    )


def test_accepts_without_an_encoder_are_server_errors(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    assert (
        predict(model, csv_payload(FEATURES[:1]), "text/csv", "application/jsonlines", batch=False).status
        == 500
    )


def test_empty_body_is_204(tmp_path: Path) -> None:
    answer = predict(saved(tmp_path, REGRESSOR, "1.7-1"), b"", "text/csv", None, batch=True)
    assert (answer.status, answer.body) == (204, b"")


@pytest.mark.parametrize(
    ("payload", "content_type", "message"),
    [
        (
            b"1,2,3,4",
            "application/json",
            "application/json is not an accepted ContentType: csv, libsvm, parquet",
        ),
        (b"1,2,3,4", "text/csv; label_size=2", "text/csv; label_size=2 is not an accepted csv ContentType."),
        (b"1,2,3,4", "application/x-parquet", "Content-type application/x-parquet is not supported."),
        (
            b"1,2,3,4",
            "application/x-recordio-protobuf",
            "(recordio-protobuf) is not supported by this emulator.",
        ),
        (
            b"1,a,3,4",
            "text/csv",
            "Loading csv data failed with Exception, please ensure data is in csv format:\n"
            " <class 'ValueError'>\n could not convert string to float",
        ),
        (b"1,2,3,4\n5,6", "text/csv", "Loading csv data failed with Exception"),
        (b"1,2\n\n3,4", "text/csv", "Loading csv data failed with Exception"),
        (b"\n\n1,2", "text/x-libsvm", "Loading libsvm data failed with Exception"),
    ],
)
def test_unparsable_payloads_are_415(tmp_path: Path, payload: bytes, content_type: str, message: str) -> None:
    answer = predict(saved(tmp_path, REGRESSOR, "1.7-1"), payload, content_type, None, batch=True)
    assert answer.status == 415
    assert message in answer.body.decode()


def test_too_many_columns_is_400_and_fewer_are_accepted(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    answer = predict(model, csv_payload(RNG.normal(size=(2, 5))), "text/csv", None, batch=True)
    assert answer.status == 400
    assert answer.body.decode().startswith("Unable to evaluate payload provided: ")
    assert "Number of columns does not match number of features in booster" in answer.body.decode()
    assert predict(model, csv_payload(FEATURES[:2, :2]), "text/csv", None, batch=True).status == 200


def test_pickled_models_get_the_containers_column_check(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.2-2")
    assert predict(model, csv_payload(FEATURES[:2, :3]), "text/csv", None, batch=True).status == 200
    answer = predict(model, csv_payload(FEATURES[:2, :2]), "text/csv", None, batch=True)
    assert answer.status == 400
    assert answer.body.decode() == (
        "Unable to evaluate payload provided: Feature size of csv inference data 2 is not consistent with "
        "feature size of trained model 4."
    )
    answer = predict(model, b"0:1 6:2", "text/libsvm", None, batch=True)
    assert answer.body.decode() == (
        "Unable to evaluate payload provided: Feature size of libsvm inference data 7 is larger than feature "
        "size of trained model 4."
    )


def test_pickled_models_predict_with_best_ntree_limit(tmp_path: Path) -> None:
    model = booster(rounds=8, num_parallel_tree=2)
    vars(model)["best_ntree_limit"] = 6  # three rounds of two trees
    loaded = saved(tmp_path, model, "1.2-1")
    assert loaded.iteration_limit == 3
    answer = predict(loaded, csv_payload(FEATURES[:4]), "text/csv", None, batch=True)
    assert answer.body.decode() == expected_lines(
        model.predict(xgb.DMatrix(FEATURES[:4]), iteration_range=(0, 3))
    )


def test_missing_content_type_means_libsvm(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    answer = predict(model, b"9 0:0.5 2:-1.25\n3 1:2.0 3:0.75", None, None, batch=True)
    matrix = scipy.sparse.csr_matrix(np.array([[0.5, 0, -1.25, 0], [0, 2.0, 0, 0.75]]))
    assert answer.body.decode() == expected_lines(REGRESSOR.predict(xgb.DMatrix(matrix)))


def test_3_2_0_shifts_one_based_libsvm_indices(tmp_path: Path) -> None:
    payload = b"1:0.5 3:-1.25"
    shifted = predict(saved(tmp_path, REGRESSOR, "3.2-0"), payload, "libsvm", None, batch=True)
    as_given = predict(saved(tmp_path, REGRESSOR, "3.0-5"), payload, "libsvm", None, batch=True)
    zero_based = scipy.sparse.csr_matrix(np.array([[0.5, 0, -1.25]]))
    one_based = scipy.sparse.csr_matrix(np.array([[0, 0.5, 0, -1.25]]))
    assert shifted.body.decode() == expected_lines(REGRESSOR.predict(xgb.DMatrix(zero_based)))
    assert as_given.body.decode() == expected_lines(REGRESSOR.predict(xgb.DMatrix(one_based)))


def test_csv_delimiter_is_sniffed_and_empty_fields_are_missing(tmp_path: Path) -> None:
    model = saved(tmp_path, REGRESSOR, "1.7-1")
    rows = FEATURES[:3].copy()
    semicolons = "\n".join(";".join(repr(float(v)) for v in row) for row in rows).encode()
    assert predict(model, semicolons, "text/csv", None, batch=True).body.decode() == expected_lines(
        REGRESSOR.predict(xgb.DMatrix(rows))
    )
    rows[1, 2] = np.nan
    with_gap = csv_payload(rows).replace(b"nan", b"")
    assert predict(model, with_gap, "text/csv", None, batch=True).body.decode() == expected_lines(
        REGRESSOR.predict(xgb.DMatrix(rows))
    )


def test_float_parsing_is_float64_then_float32() -> None:
    # Unlike training's text reader, the inference server parses with numpy: correctly rounded doubles.
    assert csv_matrix(b"10.928,1e-46\n0.1,2").tolist() == [[10.928, 1e-46], [0.1, 2.0]]


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=8),
        elements=st.floats(-1e30, 1e30, allow_nan=False, width=64),
    )
)
def test_fast_csv_parsing_equals_the_containers_parser(matrix: np.ndarray) -> None:
    if matrix.shape[1] == 1:
        matrix = np.hstack([matrix, matrix])  # one column cannot be sniffed, in the container either
    text = "\n".join(",".join(repr(float(v)) for v in row) for row in matrix)
    rows = [line.split(",") for line in text.split("\n")]
    np.testing.assert_array_equal(csv_matrix(text.encode()), np.array(rows).astype(float))


@settings(max_examples=25, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 20), st.just(4)),
        elements=st.floats(-100, 100, allow_nan=False, width=32),
    )
)
def test_predictions_equal_in_process_xgboost(matrix: np.ndarray) -> None:
    model = LoadedModel(REGRESSOR, Path("xgboost-model"), False, VERSIONS["1.7-1"], 0)
    answer = predict(model, csv_payload(matrix), "text/csv", None, batch=True)
    assert answer.body.decode() == expected_lines(REGRESSOR.predict(xgb.DMatrix(matrix)))


# -- loading --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "start"),
    [
        ("1.7-1", "Model {path} cannot be loaded:\nPickle load error="),
        ("1.2-2", "Model at {path} cannot be loaded:\n"),
        ("1.0-1", "Model at {directory} cannot be loaded:\n"),
        ("0.90-1", "('Unable to load model: %s %s', UnpicklingError("),
    ],
)
def test_unloadable_model_messages(tmp_path: Path, version: str, start: str) -> None:
    path = tmp_path / "xgboost-model"
    path.write_bytes(b"not a model")
    with pytest.raises(RuntimeError) as info:
        load_model(tmp_path, version)
    assert str(info.value).startswith(start.format(path=path, directory=tmp_path))
    if version == "1.7-1":
        assert "\nXGB load model error=" in str(info.value)


def test_pickles_can_only_hold_boosters(tmp_path: Path) -> None:
    marker = tmp_path / "created-by-the-pickle"

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.mkdir, (str(marker),))

    (tmp_path / "xgboost-model").write_bytes(pickle.dumps(Exploit()))
    with pytest.raises(RuntimeError) as info:
        load_model(tmp_path, "1.2-2")
    assert "is forbidden in a model file" in str(info.value)
    assert not marker.exists()


def test_hidden_files_are_not_models_and_an_empty_directory_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        load_model(tmp_path, "1.7-1")
    (tmp_path / ".DS_Store").write_bytes(b"junk")
    (tmp_path / "xgboost-model").write_bytes(serialize(REGRESSOR, VERSIONS["3.0-5"]))
    loaded = load_model(tmp_path, "3.0-5")
    assert not loaded.pickled and loaded.iteration_limit == 0 and loaded.num_features == 4


@pytest.mark.parametrize("version", ["1", "1.7-1"])
def test_a_model_archive_beside_the_model_is_not_the_model(tmp_path: Path, version: str) -> None:
    # SDK local mode extracts model.tar.gz into /opt/ml/model and leaves the archive there; its name sorts first.
    model_file = tmp_path / "xgboost-model"
    model_file.write_bytes(serialize(REGRESSOR, VERSIONS[version]))
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as archive:
        archive.add(model_file, arcname="xgboost-model")
    (tmp_path / "a-model.tar").write_bytes((tmp_path / "model.tar.gz").read_bytes())  # any archive's name
    loaded = load_model(tmp_path, version)
    assert loaded.path == model_file and loaded.num_features == 4


def test_an_archive_alone_is_still_tried_and_fails_as_in_the_container(tmp_path: Path) -> None:
    model_file = tmp_path / "inner" / "xgboost-model"
    model_file.parent.mkdir()
    model_file.write_bytes(serialize(REGRESSOR, VERSIONS["1.7-1"]))
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as archive:
        archive.add(model_file, arcname="xgboost-model")
    with pytest.raises(RuntimeError) as info:
        load_model(tmp_path, "1.7-1")
    assert str(info.value).startswith(f"Model {tmp_path / 'model.tar.gz'} cannot be loaded:")
