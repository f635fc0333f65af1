"""ECR image URIs of the built-in XGBoost algorithm and the SKLearn framework: building them as the SDKs do,
and recognising them.

Two repositories exist: the legacy `xgboost` (tags `1` and `latest`, XGBoost 0.72, what SDK v1's
`get_image_uri(region, 'xgboost')` returns) and `sagemaker-xgboost` (one tag per container version). Each has
its own account per region (SDK `image_uri_config/xgboost.json`); a URI whose account does not belong to its
region is not an AWS image, so it does not resolve. The ECR host name follows the region's partition
(`amazonaws.com.cn` in China, the ISO partitions' own domains).

The SKLearn framework images (`sagemaker-scikit-learn:<version>-cpu-py3`, script mode) live in the same account
as `sagemaker-xgboost` in every region (SDK `image_uri_config/sklearn.json`). Only the versions with a runtime
resolve (`runtimes/catalog.py`); the SDK's others (0.20.0, 0.23-1) do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LEGACY_REPOSITORY = "xgboost"
REPOSITORY = "sagemaker-xgboost"
SKLEARN_REPOSITORY = "sagemaker-scikit-learn"
SKLEARN_VERSIONS = ("1.0-1", "1.2-1", "1.4-2")

# Container version key -> tag the SDKs produce for it.
_TAGS = {
    "1": "1",
    "0.90-1": "0.90-1-cpu-py3",
    "0.90-2": "0.90-2-cpu-py3",
    "1.0-1": "1.0-1-cpu-py3",
    "1.2-1": "1.2-1",
    "1.2-2": "1.2-2",
    "1.3-1": "1.3-1",
    "1.5-1": "1.5-1",
    "1.7-1": "1.7-1",
    "3.0-5": "3.0-5",
    "3.2-0": "3.2-0",
}
VERSIONS = tuple(_TAGS)
# Graviton images exist for these two versions only (SDK scope `inference_graviton`).
_ARM64_VERSIONS = ("1.3-1", "1.5-1")

# region -> (legacy `xgboost` account, `sagemaker-xgboost` account); None where the legacy repo is absent.
_ACCOUNTS: dict[str, tuple[str | None, str]] = {
    "af-south-1": ("455444449433", "510948584623"),
    "ap-east-1": ("286214385809", "651117190479"),
    "ap-northeast-1": ("501404015308", "354813040037"),
    "ap-northeast-2": ("306986355934", "366743142698"),
    "ap-northeast-3": ("867004704886", "867004704886"),
    "ap-south-1": ("991648021394", "720646828776"),
    "ap-south-2": ("628508329040", "628508329040"),
    "ap-southeast-1": ("475088953585", "121021644041"),
    "ap-southeast-2": ("544295431143", "783357654285"),
    "ap-southeast-3": ("951798379941", "951798379941"),
    "ap-southeast-4": ("106583098589", "106583098589"),
    "ca-central-1": ("469771592824", "341280168497"),
    "ca-west-1": (None, "190319476487"),
    "cn-north-1": ("390948362332", "450853457545"),
    "cn-northwest-1": ("387376663083", "451049120500"),
    "eu-central-1": ("813361260812", "492215442770"),
    "eu-central-2": ("680994064768", "680994064768"),
    "eu-north-1": ("669576153137", "662702820516"),
    "eu-south-1": ("257386234256", "978288397137"),
    "eu-south-2": ("104374241257", "104374241257"),
    "eu-west-1": ("685385470294", "141502667606"),
    "eu-west-2": ("644912444149", "764974769150"),
    "eu-west-3": ("749696950732", "659782779980"),
    "il-central-1": (None, "898809789911"),
    "me-central-1": ("272398656194", "272398656194"),
    "me-south-1": ("249704162688", "801668240914"),
    "sa-east-1": ("855470959533", "737474898029"),
    "us-east-1": ("811284229777", "683313688378"),
    "us-east-2": ("825641698319", "257758044811"),
    "us-gov-east-1": ("237065988967", "237065988967"),
    "us-gov-west-1": ("226302683700", "414596584902"),
    "us-iso-east-1": ("490574956308", "833128469047"),
    "us-isob-east-1": ("765400339828", "281123927165"),
    "us-isof-east-1": (None, "108575199400"),
    "us-isof-south-1": (None, "124985052026"),
    "us-west-1": ("632365934929", "746614075791"),
    "us-west-2": ("433757028032", "246618743249"),
}
REGIONS = tuple(_ACCOUNTS)

# Longest prefix first: "us-isob-" must win over "us-iso-".
_PARTITION_DOMAINS = (
    ("us-isob-", "sc2s.sgov.gov"),
    ("us-isof-", "csp.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov"),
    ("cn-", "amazonaws.com.cn"),
)

_URI = re.compile(
    r"(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.(?P<domain>[a-z0-9.-]+)"
    r"/(?P<repository>[a-z0-9-]+):(?P<tag>[A-Za-z0-9._-]+)"
)


@dataclass(frozen=True)
class AlgorithmImage:
    algorithm: str  # "xgboost" (the built-in algorithm) or "sklearn" (the framework image: script mode only)
    version: str  # container version key, e.g. "1.7-1" or "1" for the legacy image
    region: str

    @property
    def runtime_key(self) -> str:
        """The name of the runtime that runs this image: the XGBoost version itself, or "sklearn-1.2-1"."""
        return self.version if self.algorithm == "xgboost" else f"{self.algorithm}-{self.version}"

    @property
    def script_mode_only(self) -> bool:
        """A framework image runs the user's script; it has no algorithm of its own."""
        return self.algorithm != "xgboost"


def ecr_domain(region: str) -> str:
    for prefix, domain in _PARTITION_DOMAINS:
        if region.startswith(prefix):
            return domain
    return "amazonaws.com"


def image_uri(region: str, framework: str = "xgboost", version: str = "1") -> str:
    """The image URI the SageMaker SDKs produce for the built-in XGBoost (or the SKLearn framework) of a region
    and version.

    `version` is an SDK version string: "1" or "latest" (the legacy image), "0.90-1" ... "3.2-0"; for sklearn
    "1.0-1", "1.2-1" or "1.4-2".
    """
    if framework not in ("xgboost", "sklearn"):
        raise ValueError(f"Unknown framework {framework!r}; the emulator provides: xgboost, sklearn")
    accounts = _ACCOUNTS.get(region)
    if accounts is None:
        raise ValueError(f"No {framework} image in region {region!r}; regions with one: {', '.join(REGIONS)}")
    legacy_account, account = accounts
    if framework == "sklearn":
        if version not in SKLEARN_VERSIONS:
            raise ValueError(f"Unknown SKLearn version {version!r}; valid versions: {', '.join(SKLEARN_VERSIONS)}")
        return f"{account}.dkr.ecr.{region}.{ecr_domain(region)}/{SKLEARN_REPOSITORY}:{version}-cpu-py3"
    if version in ("1", "latest"):
        if legacy_account is None:
            raise ValueError(
                f"The legacy XGBoost image (version {version!r}) does not exist in {region}; "
                f"use one of: {', '.join(VERSIONS[1:])}"
            )
        return f"{legacy_account}.dkr.ecr.{region}.{ecr_domain(region)}/{LEGACY_REPOSITORY}:{version}"
    tag = _TAGS.get(version)
    if tag is None:
        raise ValueError(
            f"Unknown XGBoost version {version!r}; valid versions: latest, {', '.join(VERSIONS)}"
        )
    return f"{account}.dkr.ecr.{region}.{ecr_domain(region)}/{REPOSITORY}:{tag}"


def resolve_image(uri: str) -> AlgorithmImage | None:
    """The built-in algorithm and container version an image URI names, or None if it names none."""
    match = _URI.fullmatch(uri.strip())
    if match is None:
        return None
    region = match["region"]
    accounts = _ACCOUNTS.get(region)
    if accounts is None or match["domain"] != ecr_domain(region):
        return None
    legacy_account, account = accounts
    repository, tag = match["repository"], match["tag"]
    if repository == LEGACY_REPOSITORY:
        if match["account"] != legacy_account or tag not in ("1", "latest"):
            return None
        return AlgorithmImage("xgboost", "1", region)
    if match["account"] != account:
        return None
    if repository == SKLEARN_REPOSITORY:
        version, _, suffix = tag.partition("-cpu-py3")
        ok = version in SKLEARN_VERSIONS and suffix == "" and tag.endswith("-cpu-py3")
        return AlgorithmImage("sklearn", version, region) if ok else None
    if repository != REPOSITORY:
        return None
    version = _version_of_tag(tag)
    return AlgorithmImage("xgboost", version, region) if version is not None else None


def _version_of_tag(tag: str) -> str | None:
    for version in VERSIONS[1:]:
        if tag in (version, f"{version}-cpu-py3"):
            return version
        if version in _ARM64_VERSIONS and tag == f"{version}-arm64":
            return version
    return None
