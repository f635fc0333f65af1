"""What a job would cost on SageMaker: billable instance-seconds times the on-demand price."""

from __future__ import annotations

import os

# us-east-1 on-demand prices in USD per instance-hour. AWS publishes no single authoritative figure for the
# retired m4 family; override with HARNESS_PRICE_PER_HOUR.
ON_DEMAND_PER_HOUR = {
    "ml.m4.xlarge": 0.24,
    "ml.m5.xlarge": 0.23,
    "ml.m5.large": 0.115,
}


def price_per_hour(instance_type: str) -> float | None:
    override = os.environ.get("HARNESS_PRICE_PER_HOUR")
    if override:
        return float(override)
    return ON_DEMAND_PER_HOUR.get(instance_type)


def cost(instance_type: str, instance_seconds: float) -> float | None:
    price = price_per_hour(instance_type)
    return None if price is None else price * instance_seconds / 3600
