"""A training run stopped between two of its saves, as a SIGKILL would stop it: the tests' stand-in."""

from contextlib import contextmanager

import pytest

from synthval.runtime import Progress


class Killed(RuntimeError):
    """What the killed run raises."""


@contextmanager
def killed_after_epoch(epoch: int):
    """Within it, training stops with :class:`Killed` as epoch ``epoch``'s progress line is logged (its
    resume state saved, the next epoch not begun); the block must be stopped so."""
    update = Progress.update

    def die(self, done, extra=""):
        update(self, done, extra)
        if done == epoch:
            raise Killed

    Progress.update = die
    try:
        with pytest.raises(Killed):
            yield
    finally:
        Progress.update = update
