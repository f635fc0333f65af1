"""The search strategies: which hyperparameters the next child training job gets, and which running child to
stop.

- `Random`: each range sampled on its scale, independently, from a generator seeded with `RandomSeed`.
- `Grid`: every combination of the categorical ranges, in order (the first range varies slowest).
- `Bayesian`: Optuna's TPE sampler (seeded with `RandomSeed`), asked for a point per child and told each child's
  final objective. SageMaker's own Bayesian optimiser is proprietary, so the points differ from SageMaker's;
  the behaviour is the same kind: random exploration for the first points, then points drawn towards the
  regions where the objective was best. Optuna was chosen as the most used, maintained optimisation library
  with an ask-and-tell interface, which a tuner that runs several children at once needs.
- `Hyperband`: random points (SageMaker: "the new configuration … is chosen randomly") and Optuna's Hyperband
  pruner, told each child's objective at every round (epoch) as the child logs it. It stops a child that
  falls behind the others of its bracket at a rung (a resource level between `MinResource` and `MaxResource`),
  and every child once it reaches `MaxResource`.

Every strategy is keyed by child name. A strategy can be rebuilt after a restart of the emulator from the
children already launched, so a tuning job goes on where it was: Random and Grid draw their sequence again past
the points already used; the Optuna strategies are told what those children found (and draw from a generator
seeded past them, so they do not propose the same points again).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from .space import Parameter

Point = dict[str, str]


class Strategy(Protocol):
    def next_point(self, child: str) -> Point | None:
        """The tuned hyperparameters of the child about to be launched; None when no point is left (Grid)."""

    def report(self, child: str, step: int, value: float) -> bool:
        """The child's objective at round `step` (from 1); True when the strategy stops the child there."""

    def observe(self, child: str, point: Point, objective: float | None, series: Sequence[float] = ()) -> None:
        """A child ended (or, after a restart or for a warm start, had ended): its final objective, None when it
        has none, and its objective at each round when they were read."""


class RandomSearch:
    def __init__(self, parameters: list[Parameter], seed: int | None) -> None:
        self.parameters = parameters
        self._rng = np.random.default_rng(seed)

    def next_point(self, child: str) -> Point:
        point = {}
        for parameter in self.parameters:
            if parameter.kind == "categorical":
                point[parameter.name] = parameter.values[int(self._rng.integers(len(parameter.values)))]
            else:
                point[parameter.name] = parameter.text(parameter.from_unit(float(self._rng.random())))
        return point

    def report(self, child: str, step: int, value: float) -> bool:
        return False

    def observe(self, child: str, point: Point, objective: float | None, series: Sequence[float] = ()) -> None:
        pass


class GridSearch:
    def __init__(self, parameters: list[Parameter]) -> None:
        names = [parameter.name for parameter in parameters]
        self._points = iter([dict(zip(names, values, strict=True))
                             for values in itertools.product(*(parameter.values for parameter in parameters))])

    def next_point(self, child: str) -> Point | None:
        return next(self._points, None)

    def report(self, child: str, step: int, value: float) -> bool:
        return False

    def observe(self, child: str, point: Point, objective: float | None, series: Sequence[float] = ()) -> None:
        pass


class OptunaSearch:
    """An Optuna study asked for each child's point and told its results (Bayesian: TPE; Hyperband: random points
    and the Hyperband pruner)."""

    def __init__(self, parameters: list[Parameter], maximize: bool, sampler: Any, pruner: Any = None,
                 max_resource: int | None = None) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.parameters = parameters
        self._optuna = optuna
        self._max_resource = max_resource
        self._study = optuna.create_study(direction="maximize" if maximize else "minimize", sampler=sampler,
                                          pruner=pruner)
        self._distributions = {parameter.name: self._distribution(parameter) for parameter in parameters}
        self._trials: dict[str, Any] = {}
        self._pruned: set[str] = set()

    def next_point(self, child: str) -> Point:
        trial = self._study.ask(self._distributions)
        self._trials[child] = trial
        return self._point(trial.params)

    def report(self, child: str, step: int, value: float) -> bool:
        trial = self._trials.get(child)
        if trial is None or self._study.pruner is None:
            return False
        trial.report(value, step)
        if self._max_resource is not None and step >= self._max_resource:
            return True
        if trial.should_prune():
            self._pruned.add(child)
            return True
        return False

    def observe(self, child: str, point: Point, objective: float | None, series: Sequence[float] = ()) -> None:
        state = self._optuna.trial.TrialState
        trial = self._trials.pop(child, None)
        if trial is None:  # launched before a restart, or by a warm start's parent: tell the study what it found
            if objective is not None:
                self._study.add_trial(self._optuna.trial.create_trial(
                    params=self._params(point), distributions=self._distributions, value=objective,
                    intermediate_values=dict(enumerate(series, start=1))))
            return
        if objective is None:
            self._study.tell(trial, state=state.FAIL)
        elif child in self._pruned:
            self._study.tell(trial, state=state.PRUNED)
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


def make_strategy(name: str, parameters: list[Parameter], seed: int | None, maximize: bool, launched: int = 0,
                  resources: tuple[int, int] | None = None) -> Strategy:
    """The strategy `name`; `launched` children were already launched (a restart); `resources` is Hyperband's
    (MinResource, MaxResource)."""
    if name == "Random":
        random = RandomSearch(parameters, seed)
        for _ in range(launched):
            random.next_point("")  # the same sequence again, past the points already used
        return random
    if name == "Grid":
        grid = GridSearch(parameters)
        for _ in range(launched):
            grid.next_point("")
        return grid
    import optuna

    if seed is not None:
        seed += launched
    if name == "Hyperband":
        low, high = resources or (1, 1)
        return OptunaSearch(parameters, maximize, optuna.samplers.RandomSampler(seed=seed),
                            optuna.pruners.HyperbandPruner(min_resource=low, max_resource=high, reduction_factor=3),
                            max_resource=high)
    # constant_liar: points asked while others run are kept away from those (several children run at once).
    return OptunaSearch(parameters, maximize, optuna.samplers.TPESampler(seed=seed, constant_liar=True,
                                                                          n_startup_trials=5))
