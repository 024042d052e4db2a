"""AWS failing, as the product reports it: "cannot reach AWS" and "AWS refused these credentials" become
:class:`~reconciler.errors.AwsAccessError` (:func:`translate_errors`); what AWS still failing after botocore's
retries raises, for an ``except`` clause (:func:`aws_failures`)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.errors import AwsAccessError

__all__ = ["AUTH_ERROR_CODES", "aws_failures", "translate_errors"]

#: Error codes meaning "these credentials may not do this / are not valid", across services.
AUTH_ERROR_CODES: frozenset[str] = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "InvalidToken",
        "MissingAuthenticationToken",
        "RequestExpired",
        "SignatureDoesNotMatch",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
    }
)


@contextmanager
def translate_errors(context: str | None = None) -> Iterator[None]:
    """Turn "cannot reach AWS" and "AWS refused these credentials" into :class:`AwsAccessError`.

    ``context`` (e.g. ``"reading IAM"``) is added to the message. Other errors pass through unchanged.
    Usable as a ``with`` block or as a decorator.
    """
    from botocore.exceptions import (  # noqa: PLC0415 - only where AWS is called
        ClientError,
        CredentialRetrievalError,
        HTTPClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
        ProfileNotFound,
    )
    from botocore.exceptions import ConnectionError as BotocoreConnectionError  # noqa: PLC0415

    where = f" while {context}" if context else ""
    try:
        yield
    except (BotocoreConnectionError, HTTPClientError) as exc:
        # the message names the endpoint URL, e.g. 'Could not connect to the endpoint URL: "http://..."'
        raise AwsAccessError(_one_line(f"cannot reach AWS{where}: {exc}")) from exc
    except (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError) as exc:
        raise AwsAccessError(_one_line(f"no usable AWS credentials{where}: {exc}")) from exc
    except (ProfileNotFound, NoRegionError) as exc:
        raise AwsAccessError(_one_line(f"AWS is not configured{where}: {exc}")) from exc
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code not in AUTH_ERROR_CODES:
            raise
        message = str(error.get("Message", "")) or code
        raise AwsAccessError(_one_line(f"AWS refused {exc.operation_name}{where} ({code}): {message}")) from exc


def aws_failures() -> tuple[type[Exception], ...]:
    """What AWS still failing after botocore's retries raises, for an ``except`` clause: botocore's ``ClientError``
    and ``BotoCoreError``, and ``ResponseParserError`` (an answer it cannot parse, such as an HTML error page).

    Empty while botocore is not imported: no AWS call can have failed then, and a command that makes none does
    not import botocore only to catch nothing.
    """
    if "botocore" not in sys.modules:
        return ()
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - only where AWS is called
    from botocore.parsers import ResponseParserError  # noqa: PLC0415

    return (ClientError, BotoCoreError, ResponseParserError)


def _one_line(text: str) -> str:
    return " ".join(text.split())
