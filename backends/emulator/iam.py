"""IAM pieces the SageMaker SDK 3.x needs and the services behind the gateway lack.

Before it creates a training job, the 3.x SDK checks the execution role: `iam:SimulatePrincipalPolicy` for the
actions a job needs, then `iam:GetRole` for a trust policy naming `sagemaker.amazonaws.com`. moto implements
GetRole but has no policy simulator (it answers HTTP 500), and LocalStack's denies everything to a role with
no policies attached, so `ModelTrainer.train()` fails against either.

- `PolicySimulator` sits in front of those services and answers `SimulatePrincipalPolicy` itself: this
  emulator runs every job whatever the role's policies say, so every action on every resource is `allowed`
  for a principal that exists in IAM (a missing one gets IAM's `NoSuchEntity`, as on AWS). Every other IAM
  call, and the existence check itself, goes to the services' own IAM.
- `ensure_execution_role` gives the emulator's account a SageMaker execution role, as a SageMaker account
  has, so the SDK's trust check passes for it without any setup. Roles a user creates through the endpoint
  (`aws iam create-role ...`) pass it the same way.
"""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, urlencode

from botocore.model import ListShape, Shape, StructureShape

from .errors import ServiceError
from .sagemaker.context import EXECUTION_ROLE_ARN, EXECUTION_ROLE_NAME, EXECUTION_ROLE_PATH
from .service_model import operation_model
from .validation import validate_request

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"},
                   "Action": "sts:AssumeRole"}],
}

_NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
_IAM_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/[a-z0-9-]+/iam/aws4_request")
_MAX_BODY = 1024 * 1024
# PolicySourceArn names a user, group or role; each has its own Get* call and "not found" wording.
_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(user|group|role)/(?:[^/]+/)*([^/]+)$")
_LOOKUP = {"user": ("GetUser", "UserName", "The user with name {} cannot be found."),
           "group": ("GetGroup", "GroupName", "The group with name {} cannot be found."),
           "role": ("GetRole", "RoleName", "The role with name {} cannot be found.")}


class IamError(ServiceError):
    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class PolicySimulator:
    """WSGI middleware: `SimulatePrincipalPolicy` answered here, everything else passed to `app`."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not _IAM_SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _content_length(environ) > _MAX_BODY:
            return self.app(environ, start_response)
        body = _read_body(environ)
        # moto reads the body again: give it back untouched.
        environ["wsgi.input"] = io.BytesIO(body)
        params = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
        for key, values in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items():
            params.setdefault(key, values)
        if params.get("Action", [""])[0] != "SimulatePrincipalPolicy":
            return self.app(environ, start_response)
        request_id = str(uuid.uuid4())
        try:
            document = self._simulate(environ, {key: values[0] for key, values in params.items()})
            return _respond(start_response, 200, _result_xml(document, request_id))
        except IamError as error:
            return _respond(start_response, error.status, _error_xml(error, request_id))
        except ServiceError as error:  # validation from the service model
            return _respond(start_response, 400, _error_xml(IamError("ValidationError", error.message, 400),
                                                            request_id))

    def _simulate(self, environ: dict[str, Any], flat: dict[str, str]) -> dict[str, Any]:
        model = operation_model("iam", "SimulatePrincipalPolicy")
        assert model is not None and model.input_shape is not None
        request = _decode(model.input_shape, flat, "")
        validate_request(model.input_shape, request)
        source = request["PolicySourceArn"]
        match = _PRINCIPAL.match(source)
        if match is None:
            raise IamError("InvalidInput", f"ARN {source} is not valid.", 400)
        kind, name = match.groups()
        if not self._exists(environ, kind, name):
            raise IamError("NoSuchEntity", _LOOKUP[kind][2].format(name), 404)
        resources = request.get("ResourceArns") or ["*"]
        results = []
        for action in request["ActionNames"]:
            result: dict[str, Any] = {"EvalActionName": action, "EvalResourceName": resources[0],
                                      "EvalDecision": "allowed", "MatchedStatements": [],
                                      "MissingContextValues": []}
            if len(resources) > 1:
                result["ResourceSpecificResults"] = [
                    {"EvalResourceName": resource, "EvalResourceDecision": "allowed", "MatchedStatements": [],
                     "MissingContextValues": []} for resource in resources]
            results.append(result)
        return {"EvaluationResults": results, "IsTruncated": False}

    def _exists(self, environ: dict[str, Any], kind: str, name: str) -> bool:
        """Ask the services' IAM (a GetRole/GetUser/GetGroup through the same app), so the answer is its own."""
        operation, member, _ = _LOOKUP[kind]
        body = urlencode({"Action": operation, "Version": "2010-05-08", member: name}).encode()
        sub = dict(environ)
        sub.update({"REQUEST_METHOD": "POST", "PATH_INFO": "/", "QUERY_STRING": "", "RAW_URI": "/",
                    "REQUEST_URI": "/", "CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8",
                    "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)})
        statuses: list[str] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            statuses.append(status)
            return lambda data: None

        response = self.app(sub, capture)
        try:
            for _ in response:
                pass
        finally:
            close = getattr(response, "close", None)
            if close is not None:
                close()
        return bool(statuses) and statuses[0].startswith("200")


def ensure_execution_role(endpoint_url: str, region: str) -> None:
    """Create the emulator's SageMaker execution role in the IAM behind `endpoint_url`, if it is missing."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    iam = boto3.session.Session().client(
        "iam", region_name=region, endpoint_url=endpoint_url, aws_access_key_id="test",
        aws_secret_access_key="test", config=Config(retries={"max_attempts": 1}))
    try:
        iam.create_role(RoleName=EXECUTION_ROLE_NAME, Path=EXECUTION_ROLE_PATH,
                        AssumeRolePolicyDocument=json.dumps(_TRUST_POLICY),
                        Description="SageMaker execution role of the sagemaker-harness emulator")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
            log.warning("could not create the execution role %s: %s", EXECUTION_ROLE_ARN, exc)
    except BotoCoreError as exc:
        log.warning("could not create the execution role %s: %s", EXECUTION_ROLE_ARN, exc)


# -- the query protocol ------------------------------------------------------------------------------------


def _decode(shape: Shape, flat: dict[str, str], prefix: str) -> Any:
    """The request as botocore would have built it, from the query protocol's flattened keys
    (`ActionNames.member.1`, `ContextEntries.member.1.ContextKeyName`...)."""
    if isinstance(shape, StructureShape):
        out = {}
        for name, member in shape.members.items():
            key = f"{prefix}{name}"
            if isinstance(member, (StructureShape, ListShape)):
                if any(k == key or k.startswith(key + ".") for k in flat):
                    out[name] = _decode(member, flat, key + ".")
            elif key in flat:
                out[name] = _decode(member, flat, key)
        return out
    if isinstance(shape, ListShape):
        items = []
        index = 1
        while any(k == f"{prefix}member.{index}" or k.startswith(f"{prefix}member.{index}.") for k in flat):
            item_key = f"{prefix}member.{index}"
            nested = isinstance(shape.member, (StructureShape, ListShape))
            items.append(_decode(shape.member, flat, item_key + "." if nested else item_key))
            index += 1
        return items
    value = flat[prefix]
    if shape.type_name in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            return value  # left for validation to reject, in AWS's words
    if shape.type_name == "boolean":
        return value.lower() == "true"
    return value


def _result_xml(document: dict[str, Any], request_id: str) -> bytes:
    root = ET.Element("SimulatePrincipalPolicyResponse", xmlns=_NAMESPACE)
    result = ET.SubElement(root, "SimulatePrincipalPolicyResult")
    _append(result, "EvaluationResults", document["EvaluationResults"])
    _append(result, "IsTruncated", document["IsTruncated"])
    metadata = ET.SubElement(root, "ResponseMetadata")
    ET.SubElement(metadata, "RequestId").text = request_id
    return ET.tostring(root, encoding="utf-8", xml_declaration=False)


def _append(parent: ET.Element, name: str, value: Any) -> None:
    element = ET.SubElement(parent, name)
    if isinstance(value, list):
        for item in value:
            _append(element, "member", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _append(element, key, item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def _error_xml(error: IamError, request_id: str) -> bytes:
    root = ET.Element("ErrorResponse", xmlns=_NAMESPACE)
    detail = ET.SubElement(root, "Error")
    ET.SubElement(detail, "Type").text = "Sender"
    ET.SubElement(detail, "Code").text = error.code
    ET.SubElement(detail, "Message").text = error.message
    ET.SubElement(root, "RequestId").text = request_id
    return ET.tostring(root, encoding="utf-8")


def _content_length(environ: dict[str, Any]) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _read_body(environ: dict[str, Any]) -> bytes:
    length = _content_length(environ)
    if length <= 0:
        return b""
    data: bytes = environ["wsgi.input"].read(length)
    return data


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found"}


def _respond(start_response: Callable[..., Any], status: int, body: bytes) -> list[bytes]:
    start_response(f"{status} {_REASONS.get(status, 'Error')}", [
        ("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]
