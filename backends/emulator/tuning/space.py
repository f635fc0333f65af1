"""A tuning job's search space: its `ParameterRanges`, checked, and the values a child training job gets.

Integer and continuous ranges have a `ScalingType`: `Linear` (uniform over [MinValue, MaxValue]), `Logarithmic`
(uniform over the logarithm: both bounds above 0), `ReverseLogarithmic` (continuous only, within [0, 1): uniform
over log(1 - x), so values crowd towards 1), and `Auto`, which SageMaker documents as its choice; the emulator
takes `Linear` for it, as SageMaker's documentation says it does at first. Values reach a child as strings, the
way SageMaker's children show them: `repr` of the float for continuous ranges, the integer for integer ones, the
value as given for categorical ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import ValidationException


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # "integer", "continuous" or "categorical"
    low: float = 0.0
    high: float = 0.0
    scaling: str = "Linear"  # Linear, Logarithmic or ReverseLogarithmic (Auto resolved to Linear)
    values: tuple[str, ...] = ()

    def to_unit(self, value: float) -> float:
        """Where `value` lies in the range, in [0, 1], on the range's scale."""
        if self.scaling == "Logarithmic":
            return (math.log(value) - math.log(self.low)) / (math.log(self.high) - math.log(self.low) or 1.0)
        if self.scaling == "ReverseLogarithmic":
            low, high = math.log(1 - self.high), math.log(1 - self.low)
            return (high - math.log(1 - value)) / (high - low or 1.0)
        return (value - self.low) / (self.high - self.low or 1.0)

    def from_unit(self, unit: float) -> float:
        """The value at `unit` (in [0, 1]) of the range, on its scale."""
        unit = min(max(unit, 0.0), 1.0)
        if self.scaling == "Logarithmic":
            value = math.exp(math.log(self.low) + unit * (math.log(self.high) - math.log(self.low)))
        elif self.scaling == "ReverseLogarithmic":
            low, high = math.log(1 - self.high), math.log(1 - self.low)
            value = 1 - math.exp(high - unit * (high - low))
        else:
            value = self.low + unit * (self.high - self.low)
        if self.kind == "integer":
            return float(min(max(round(value), self.low), self.high))
        return min(max(value, self.low), self.high)

    def text(self, value: Any) -> str:
        """The hyperparameter's value as the child training job gets it."""
        if self.kind == "categorical":
            return str(value)
        if self.kind == "integer":
            return str(int(value))
        return repr(float(value))

    def contains(self, text: str) -> bool:
        if self.kind == "categorical":
            return text in self.values
        try:
            value = float(text)
        except ValueError:
            return False
        return self.low <= value <= self.high and (self.kind != "integer" or value == int(value))


def parse_ranges(ranges: dict[str, Any], static: dict[str, str]) -> list[Parameter]:
    """The ranges of a HyperParameterTuningJobConfig, checked as SageMaker documents them."""
    parameters: list[Parameter] = []
    for kind, member in (("integer", "IntegerParameterRanges"), ("continuous", "ContinuousParameterRanges")):
        for spec in ranges.get(member) or []:
            parameters.append(_numeric(kind, spec))
    for spec in ranges.get("CategoricalParameterRanges") or []:
        values = tuple(spec["Values"])
        if len(set(values)) != len(values):
            raise ValidationException(f"The values of categorical hyperparameter {spec['Name']} must be unique.")
        parameters.append(Parameter(spec["Name"], "categorical", values=values))
    names = [parameter.name for parameter in parameters]
    if not names:
        raise ValidationException("A hyperparameter tuning job must tune at least one hyperparameter: give "
                                  "IntegerParameterRanges, ContinuousParameterRanges or CategoricalParameterRanges.")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValidationException(f"Hyperparameter(s) {repeated} appear in more than one parameter range.")
    both = sorted(set(names) & set(static))
    if both:
        raise ValidationException(f"Hyperparameter(s) {both} are both tuned (in ParameterRanges) and static (in "
                                  "StaticHyperParameters); a hyperparameter can be only one of the two.")
    return parameters


def combinations(parameters: list[Parameter]) -> float:
    """How many distinct points the space has (infinite with a continuous range)."""
    total = 1.0
    for parameter in parameters:
        if parameter.kind == "continuous":
            return math.inf
        total *= len(parameter.values) if parameter.kind == "categorical" else parameter.high - parameter.low + 1
    return total


def _numeric(kind: str, spec: dict[str, Any]) -> Parameter:
    name = spec["Name"]
    try:
        low, high = float(spec["MinValue"]), float(spec["MaxValue"])
    except ValueError:
        raise ValidationException(f"The MinValue and MaxValue of hyperparameter {name} must be numbers, got "
                                  f"{spec['MinValue']!r} and {spec['MaxValue']!r}.") from None
    if kind == "integer" and (low != int(low) or high != int(high)):
        raise ValidationException(f"The MinValue and MaxValue of integer hyperparameter {name} must be integers.")
    if not math.isfinite(low) or not math.isfinite(high) or low > high:
        raise ValidationException(f"The MinValue ({spec['MinValue']}) of hyperparameter {name} must be less than or "
                                  f"equal to its MaxValue ({spec['MaxValue']}).")
    scaling = spec.get("ScalingType", "Auto")
    if scaling == "Auto":
        scaling = "Linear"
    if scaling == "Logarithmic" and low <= 0:
        raise ValidationException(f"Hyperparameter {name} has Logarithmic scaling: its MinValue must be greater "
                                  f"than 0, got {spec['MinValue']}.")
    if scaling == "ReverseLogarithmic" and (kind == "integer" or low < 0 or high >= 1):
        raise ValidationException(f"Hyperparameter {name} has ReverseLogarithmic scaling, which continuous ranges "
                                  "within [0, 1) take only.")
    return Parameter(name, kind, low, high, scaling)
