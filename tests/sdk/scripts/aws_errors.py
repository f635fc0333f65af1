"""What the SDK scripts record of a call that fails: the AWS error (code and message), in one shape for all of
them. A sibling module: the scripts run from this directory (directly, or through fast_polling.py)."""

from botocore.exceptions import ClientError


def error_of(call, **params):
    """The AWS error a call fails with (code and message), or None when it succeeds."""
    try:
        call(**params)
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
    return None


def lookup_error_of(get, name, boto_session):
    """What looking a deleted resource up with SDK 3.x's `Resource.get` raises: the exception's class and message."""
    try:
        get(name, session=boto_session)
    except ClientError as error:
        return {"error": type(error).__name__, "code": error.response["Error"]["Code"],
                "message": error.response["Error"]["Message"]}
    except Exception as error:  # sagemaker-core maps some AWS errors to exceptions of its own
        return {"error": type(error).__name__, "message": str(error)}
    return None
