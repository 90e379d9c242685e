r"""A small progress bar for training runs.

On a terminal the bar is redrawn in place with a carriage return; elsewhere (a log file, a
pipe, a notebook capturing output) it prints one plain line per ~10% of the whole run and
one at the end of each epoch, so logs stay readable.
"""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar", "is_tty"]


def is_tty(stream):
    """Whether ``stream`` is an interactive terminal."""
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached streams
        return False


def _fmt_time(seconds):
    seconds = max(0, int(round(seconds)))
    m, s = divmod(seconds, 60)
    return f"{m}:{s:02d}"


class ProgressBar:
    """Progress over ``epochs`` epochs of ``steps`` steps each.

    Parameters
    ----------
    epochs, steps : int
        Number of epochs and of steps (mini-batches) per epoch.
    stream : file-like, optional
        Where to write; ``sys.stdout`` by default.
    width : int
        Width of the bar in characters (terminal mode).
    tty : bool, optional
        Force the terminal (``True``) or plain-line (``False``) mode; by default
        ``stream.isatty()`` decides.
    every : float
        Fraction of the whole run between plain lines (plain mode); the end of each epoch
        always gets its own line.

    Call :meth:`update` after each step with the running figures to show and
    :meth:`end_epoch` after each epoch.
    """

    def __init__(self, epochs, steps, stream=None, width=24, tty=None, every=0.1):
        self.epochs = max(int(epochs), 1)
        self.steps = max(int(steps), 1)
        self.stream = sys.stdout if stream is None else stream
        self.width = int(width)
        self.tty = is_tty(self.stream) if tty is None else bool(tty)
        self.every = max(1, int(round(every * self.steps * self.epochs)))
        self.t0 = time.perf_counter()
        self._last_len = 0

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()

    @staticmethod
    def _figures(values):
        parts = []
        for k, v in values.items():
            parts.append(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}")
        return " ".join(parts)

    def update(self, epoch, step, **values):
        """Show step ``step`` (1-based) of epoch ``epoch`` (1-based) with ``values``."""
        elapsed = time.perf_counter() - self.t0
        head = f"epoch {epoch}/{self.epochs}"
        tail = self._figures(values)
        if self.tty:
            frac = step / self.steps
            fill = int(round(frac * self.width))
            bar = "#" * fill + "." * (self.width - fill)
            line = f"{head} [{bar}] {100 * frac:3.0f}% {tail} {_fmt_time(elapsed)}"
            pad = " " * max(0, self._last_len - len(line))
            self._last_len = len(line)
            self._write("\r" + line + pad)
        elif ((epoch - 1) * self.steps + step) % self.every == 0 and step < self.steps:
            self._write(f"{head} {100 * step / self.steps:3.0f}% ({step}/{self.steps} "
                        f"batches) {tail} {_fmt_time(elapsed)}\n")

    def end_epoch(self, epoch, **values):
        """Close epoch ``epoch`` with its summary ``values`` (one line in either mode)."""
        elapsed = time.perf_counter() - self.t0
        line = f"epoch {epoch}/{self.epochs} done: {self._figures(values)} {_fmt_time(elapsed)}"
        if self.tty:
            pad = " " * max(0, self._last_len - len(line))
            self._write("\r" + line + pad + "\n")
            self._last_len = 0
        else:
            self._write(line + "\n")
