"""Training progress: tqdm bars when tqdm is installed and stdout is a terminal, plain lines otherwise."""
from __future__ import annotations

import math
import sys
from typing import Iterable, Iterator, Optional, TextIO


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class Progress:
    """One bar per epoch over its batches (few epochs), or one bar over all epochs (many short epochs).

    Epoch summary lines are printed for every epoch when there are at most 50, otherwise about 25 of them
    (plus the first and the last), so a 2500-step full-batch run stays readable.
    """

    def __init__(self, epochs: int, steps: int, stream: Optional[TextIO] = None, bars: Optional[bool] = None):
        self.epochs, self.steps = epochs, steps
        self.stream = stream or sys.stdout
        tqdm = _tqdm()
        if bars is None:
            bars = tqdm is not None and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.tqdm = tqdm if bars and tqdm is not None else None
        self.every = 1 if epochs <= 50 else math.ceil(epochs / 25)
        self.per_epoch_bars = epochs <= 50
        self._outer = None
        if self.tqdm is not None and not self.per_epoch_bars:
            self._outer = self.tqdm(total=epochs, desc="training", unit="ep", file=self.stream, leave=False)
        self._bar = None

    def batches(self, it: Iterable, epoch: int) -> Iterator:
        if self.tqdm is not None and self.per_epoch_bars:
            self._bar = self.tqdm(it, total=self.steps, desc=f"epoch {epoch}/{self.epochs}", unit="batch",
                                  file=self.stream, leave=False)
            return iter(self._bar)
        return iter(it)

    def batch_loss(self, loss: float) -> None:
        if self._bar is not None:
            self._bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def epoch_end(self, epoch: int, line: str) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        if self._outer is not None:
            self._outer.update(1)
        if epoch == 1 or epoch == self.epochs or epoch % self.every == 0:
            if self._outer is not None:
                self._outer.write(line, file=self.stream)
            else:
                print(line, file=self.stream, flush=True)

    def note(self, line: str) -> None:
        """A line of its own, between the bars."""
        if self._outer is not None:
            self._outer.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self._outer is not None:
            self._outer.close()
            self._outer = None
