"""Evolutionary search, step by step:

1. Create an initial population of ``population_size`` random tuples of
   hyperparameters (trials numbered below ``population_size`` are random;
   enqueued trials among them are kept as they are).
2. Evaluate each tuple: its fitness is the objective's value (the objective
   may compute it by k-fold cross-validation, see ``tune.cross_val_score``).
3. Rank the tuples by fitness.
4. Replace the worst ``n_replace = round(replace_fraction * population_size)``
   tuples by new ones made by *crossover* and *mutation* of the survivors:
   two parents are picked by binary tournament among the survivors (the better
   of two random survivors), each gene (parameter) comes from either parent
   with probability 1/2 (uniform crossover), then each gene mutates with
   probability ``mutation_rate`` (default 1/number of genes, at least one gene
   mutates when the child equals a parent): a numeric gene moves by
   ``N(0, mutation_scale)`` in the unit-cube coordinates of its distribution
   (log-space for log parameters), a categorical gene takes another choice.
5. Repeat 2-4: once the ``n_replace`` children are told, the population is
   ranked again and the worst ``n_replace`` are replaced.

Failed trials have the worst fitness (they are always replaced); pruned
trials use their last reported value.  With several workers, a child asked
before its generation is complete is bred from the survivors known then.
"""
from __future__ import annotations

import numpy as np

from ..distributions import CategoricalDistribution
from ..trial import Trial
from .base import Strategy

__all__ = ["Evolutionary"]


def _crossover(a: Trial, b: Trial, rng) -> dict:
    """Each gene of both parents from either at random; a gene of one parent only, with probability 1/2."""
    child = {}
    for g in dict.fromkeys(list(a.params) + list(b.params)):
        src = [p for p in (a, b) if g in p.params]
        if len(src) == 2:
            child[g] = src[int(rng.integers(2))].params[g]
        elif rng.random() < 0.5:
            child[g] = src[0].params[g]
    return child


class Evolutionary(Strategy):
    """``Evolutionary(population_size=20, replace_fraction=0.5, mutation_rate=None,
    mutation_scale=0.1, seed=None)``."""

    def __init__(self, population_size: int = 20, replace_fraction: float = 0.5,
                 mutation_rate: float | None = None, mutation_scale: float = 0.1,
                 seed: int | None = None):
        super().__init__(seed)
        if population_size < 2:
            raise ValueError(f"Evolutionary: population_size must be >= 2, got {population_size}")
        if not 0.0 < replace_fraction < 1.0:
            raise ValueError(f"Evolutionary: replace_fraction must be in (0, 1), got {replace_fraction}")
        self.population_size = int(population_size)
        self.n_replace = max(1, min(self.population_size - 1, round(replace_fraction * population_size)))
        self.mutation_rate = mutation_rate
        self.mutation_scale = float(mutation_scale)
        self._population: list[Trial] = []    # evaluated members (survivors + told children)
        self._survivors: list[Trial] = []     # population after the last replacement step
        self._n_initial_told = 0
        self._children_told = 0
        self.generation = 0

    # -------------------------------------------------------------- fitness
    def _fitness(self, t: Trial) -> float:
        loss = t.loss(self.direction)
        return np.inf if loss is None else loss     # lower is better

    def _rank(self, members: list[Trial]) -> list[Trial]:
        return sorted(members, key=lambda t: (self._fitness(t), t.number))

    # -------------------------------------------------------------- steps
    def _after_tell(self, trial: Trial) -> None:
        if trial.number >= self.population_size:
            self._children_told += 1
        else:
            self._n_initial_told += 1
        self._population.append(trial)
        if self.generation == 0 and self._n_initial_told >= self.population_size:
            self._replace_worst()
        elif self.generation > 0 and self._children_told >= self.n_replace:
            self._replace_worst()

    def _replace_worst(self) -> None:
        """Rank the population and drop the worst ``n_replace`` (step 3 and 4)."""
        ranked = self._rank(self._population)
        self._survivors = ranked[:self.population_size - self.n_replace]
        self._population = list(self._survivors)
        self._children_told = 0
        self.generation += 1

    def _propose(self, number, rng):
        if number < self.population_size:
            return {}                                   # step 1: random tuple
        parents = self._survivors if self.generation > 0 else self._rank(self._population)
        parents = [p for p in parents if np.isfinite(self._fitness(p)) and p.params]
        if len(parents) < 2:
            return {}
        a = self._tournament(parents, rng)
        b = self._tournament(parents, rng)
        return self._child(a, b, rng)

    def _tournament(self, members: list[Trial], rng) -> Trial:
        i, j = rng.integers(len(members), size=2)
        a, b = members[i], members[j]
        return a if self._fitness(a) <= self._fitness(b) else b

    def _child(self, a: Trial, b: Trial, rng) -> dict:
        """Uniform crossover of the genes of ``a`` and ``b``, then mutation."""
        child = _crossover(a, b, rng)
        if not child:
            return child
        names = list(child)
        for g, m in zip(names, self._mutation_mask(child, a, b, rng)):
            if m:
                child[g] = self._mutate(g, child[g], a.distributions.get(g) or b.distributions[g], rng)
        return child

    def _mutation_mask(self, child: dict, a: Trial, b: Trial, rng):
        """Which genes mutate (each with ``mutation_rate``, default 1/genes); at least one when the
        child would otherwise be a copy of a parent."""
        rate = self.mutation_rate if self.mutation_rate is not None else 1.0 / len(child)
        mutate = rng.random(len(child)) < rate
        same_as_parent = any(all(p.params.get(g) == v for g, v in child.items()) for p in (a, b))
        if not mutate.any() and same_as_parent:
            mutate[rng.integers(len(child))] = True
        return mutate

    def _mutate(self, name, value, dist, rng):
        if isinstance(dist, CategoricalDistribution):
            if len(dist.choices) == 1:
                return value
            others = [c for i, c in enumerate(dist.choices) if i != dist.index(value)]
            return others[int(rng.integers(len(others)))]
        u = dist.to_unit(value)
        for _ in range(10):   # discrete parameters: make the move change the value
            new = dist.from_unit(float(np.clip(u + rng.normal(0.0, self.mutation_scale), 0.0, 1.0)))
            if new != value:
                return new
        return new
