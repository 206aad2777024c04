"""The sandbox's notion of time: the real clock, or a controlled one that only moves on request.

Everything time-based (token expiry, container processing, messaging window, webhook retries,
insights) reads this clock, so tests advance it instead of sleeping.
"""

from __future__ import annotations

import time


class Clock:
    def __init__(self, *, controlled: bool = False, start: float | None = None) -> None:
        self.controlled = controlled
        self._offset = 0.0
        self._frozen = start if start is not None else time.time()

    def now(self) -> float:
        if self.controlled:
            return self._frozen + self._offset
        return time.time() + self._offset

    def restart(self) -> None:
        """A controlled clock starts again at the real time (used by reset, when nothing in the
        state depends on earlier times), so the product's real clock and the sandbox's agree at
        the start of every test."""
        if self.controlled:
            self._frozen = time.time()
            self._offset = 0.0

    def advance(self, seconds: float) -> None:
        if not self.controlled:
            raise RuntimeError(
                "the real clock cannot be moved; start the sandbox with a controlled clock"
            )
        if seconds < 0:
            raise ValueError("time only moves forward")
        self._offset += seconds
