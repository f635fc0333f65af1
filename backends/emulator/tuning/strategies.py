"""The search strategies: which hyperparameters the next child training job gets.

- `Random`: each range sampled on its scale, independently, from a generator seeded with `RandomSeed`.
- `Grid`: every combination of the categorical ranges, in order (the first range varies slowest).
- `Bayesian`: Optuna's TPE sampler (seeded with `RandomSeed`), asked for a point per child and told each child's
  final objective. SageMaker's own Bayesian optimiser is proprietary, so the points differ from SageMaker's;
  the behaviour is the same kind: random exploration for the first points, then points drawn towards the
  regions where the objective was best. Optuna was chosen as the most used, maintained optimisation library
  with an ask-and-tell interface, which a tuner that runs several children at once needs.

A strategy can be rebuilt after a restart of the emulator from the children already launched (`replay`), so a
tuning job goes on where it was.
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import numpy as np

from .space import Parameter

Point = dict[str, str]


class Strategy(Protocol):
    def next_point(self) -> Point | None:
        """The next child's tuned hyperparameters; None when the strategy has no point left (Grid)."""

    def observe(self, point: Point, objective: float | None) -> None:
        """A child with `point` ended: its final objective, None when it has none (failed)."""


class RandomSearch:
    def __init__(self, parameters: list[Parameter], seed: int | None) -> None:
        self.parameters = parameters
        self._rng = np.random.default_rng(seed)

    def next_point(self) -> Point:
        point = {}
        for parameter in self.parameters:
            if parameter.kind == "categorical":
                point[parameter.name] = parameter.values[int(self._rng.integers(len(parameter.values)))]
            else:
                point[parameter.name] = parameter.text(parameter.from_unit(float(self._rng.random())))
        return point

    def observe(self, point: Point, objective: float | None) -> None:
        pass


class GridSearch:
    def __init__(self, parameters: list[Parameter]) -> None:
        names = [parameter.name for parameter in parameters]
        self._points = iter([dict(zip(names, values, strict=True))
                             for values in itertools.product(*(parameter.values for parameter in parameters))])

    def next_point(self) -> Point | None:
        return next(self._points, None)

    def observe(self, point: Point, objective: float | None) -> None:
        pass


class BayesianSearch:
    def __init__(self, parameters: list[Parameter], seed: int | None, maximize: bool) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.parameters = parameters
        self._optuna = optuna
        # constant_liar: points asked while others run are kept away from those (several children run at once).
        sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True, n_startup_trials=5)
        self._study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=sampler)
        self._distributions = {parameter.name: self._distribution(parameter) for parameter in parameters}
        self._trials: dict[tuple[tuple[str, str], ...], Any] = {}

    def next_point(self) -> Point:
        trial = self._study.ask(self._distributions)
        point = self._point(trial.params)
        self._trials.setdefault(_key(point), trial)
        return point

    def observe(self, point: Point, objective: float | None) -> None:
        trial = self._trials.pop(_key(point), None)
        state = self._optuna.trial.TrialState
        if trial is None:  # a child launched before a restart: tell the study what it found
            if objective is not None:
                self._study.add_trial(self._optuna.trial.create_trial(
                    params=self._params(point), distributions=self._distributions, value=objective))
            return
        if objective is None:
            self._study.tell(trial, state=state.FAIL)
        else:
            self._study.tell(trial, objective)

    def _distribution(self, parameter: Parameter) -> Any:
        distributions = self._optuna.distributions
        if parameter.kind == "categorical":
            return distributions.CategoricalDistribution(list(parameter.values))
        return distributions.FloatDistribution(0.0, 1.0)  # the range's position on its own scale

    def _point(self, params: dict[str, Any]) -> Point:
        point = {}
        for parameter in self.parameters:
            value = params[parameter.name]
            point[parameter.name] = (str(value) if parameter.kind == "categorical"
                                     else parameter.text(parameter.from_unit(float(value))))
        return point

    def _params(self, point: Point) -> dict[str, Any]:
        return {parameter.name: point[parameter.name] if parameter.kind == "categorical"
                else parameter.to_unit(float(point[parameter.name])) for parameter in self.parameters}


def _key(point: Point) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(point.items()))


def make_strategy(name: str, parameters: list[Parameter], seed: int | None, maximize: bool) -> Strategy:
    if name == "Random":
        return RandomSearch(parameters, seed)
    if name == "Grid":
        return GridSearch(parameters)
    return BayesianSearch(parameters, seed, maximize)
