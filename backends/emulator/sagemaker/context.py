"""Who is asking, and where: what every operation needs besides its parameters."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

DEFAULT_ACCOUNT = "123456789012"  # moto's and LocalStack's default account, so ARNs agree with STS


@dataclass(frozen=True)
class RequestContext:
    region: str
    account: str = DEFAULT_ACCOUNT
    received: float = field(default_factory=time.time)
