"""XGBoost image URIs: built as the SageMaker SDKs build them, and resolved back to a container version."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.emulator.algorithms.images import REGIONS, VERSIONS, AlgorithmImage, image_uri, resolve_image


@pytest.mark.parametrize(
    ("region", "version", "expected"),
    [
        # SDK v1 get_image_uri(region, "xgboost")
        ("us-east-1", "1", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"),
        ("us-east-1", "latest", "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest"),
        ("eu-west-1", "1", "685385470294.dkr.ecr.eu-west-1.amazonaws.com/xgboost:1"),
        (
            "us-east-1",
            "0.90-1",
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1-cpu-py3",
        ),
        (
            "us-east-1",
            "1.0-1",
            "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.0-1-cpu-py3",
        ),
        ("us-east-1", "1.2-1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-1"),
        ("us-east-1", "1.7-1", "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"),
        ("us-west-2", "3.0-5", "246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:3.0-5"),
        (
            "ap-northeast-1",
            "3.2-0",
            "354813040037.dkr.ecr.ap-northeast-1.amazonaws.com/sagemaker-xgboost:3.2-0",
        ),
        ("cn-north-1", "1.7-1", "450853457545.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1"),
        ("cn-northwest-1", "1", "387376663083.dkr.ecr.cn-northwest-1.amazonaws.com.cn/xgboost:1"),
        ("us-iso-east-1", "1.7-1", "833128469047.dkr.ecr.us-iso-east-1.c2s.ic.gov/sagemaker-xgboost:1.7-1"),
        (
            "us-isob-east-1",
            "1.5-1",
            "281123927165.dkr.ecr.us-isob-east-1.sc2s.sgov.gov/sagemaker-xgboost:1.5-1",
        ),
    ],
)
def test_image_uri_matches_the_sdks(region: str, version: str, expected: str) -> None:
    assert image_uri(region, "xgboost", version) == expected


def test_image_uri_defaults_to_the_legacy_image() -> None:
    assert image_uri("us-east-1") == "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1"


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("mars-east-1", "xgboost", "1.7-1"), ["mars-east-1", "us-east-1", "eu-west-1"]),
        (("us-east-1", "xgboost", "9.9-9"), ["9.9-9", "latest", "0.90-1", "1.7-1", "3.2-0"]),
        (("us-east-1", "linear-learner", "1"), ["linear-learner", "xgboost"]),
        (("ca-west-1", "xgboost", "1"), ["legacy", "ca-west-1", "1.7-1"]),
    ],
)
def test_image_uri_rejects_unknown_values_listing_valid_ones(
    args: tuple[str, str, str], fragments: list[str]
) -> None:
    with pytest.raises(ValueError) as info:
        image_uri(*args)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("region", REGIONS)
def test_every_region_and_version_resolves_back(region: str) -> None:
    for version in VERSIONS:
        if version == "1" and region in ("ca-west-1", "il-central-1", "us-isof-east-1", "us-isof-south-1"):
            continue
        assert resolve_image(image_uri(region, "xgboost", version)) == AlgorithmImage(
            "xgboost", version, region
        )


@pytest.mark.parametrize(
    ("uri", "version"),
    [
        ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:latest", "1"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-1", "0.90-1"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:0.90-2-cpu-py3", "0.90-2"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-cpu-py3", "1.7-1"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.3-1-arm64", "1.3-1"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.5-1-arm64", "1.5-1"),
        ("  683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-2\n", "1.2-2"),
    ],
)
def test_tag_variants_resolve(uri: str, version: str) -> None:
    image = resolve_image(uri)
    assert image is not None
    assert (image.algorithm, image.version, image.region) == ("xgboost", version, "us-east-1")


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "xgboost:1",
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-2",  # unknown tag
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-arm64",  # no Graviton image
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost",  # no tag
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1",  # other repository
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",  # legacy account, new repo
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/xgboost:1",  # new account, legacy repo
        "683313688378.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.7-1",  # account of another region
        "811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1",  # legacy repo: tags 1 and latest only
        "683313688378.dkr.ecr.us-east-1.amazonaws.com.cn/sagemaker-xgboost:1.7-1",  # wrong partition
        "450853457545.dkr.ecr.cn-north-1.amazonaws.com/sagemaker-xgboost:1.7-1",  # China needs .com.cn
        "683313688378.dkr.ecr.mars-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",  # unknown region
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-xgboost:latest",
        "docker.io/library/python:3.11",
    ],
)
def test_other_uris_do_not_resolve(uri: str) -> None:
    assert resolve_image(uri) is None


@given(st.text())
def test_resolve_never_raises(uri: str) -> None:
    image = resolve_image(uri)
    assert image is None or image.version in VERSIONS
