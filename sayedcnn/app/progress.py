r"""A small progress bar for training runs, with the time left.

On a terminal the bar is redrawn in place with a carriage return; elsewhere (a log file, a
pipe, a notebook capturing output) it prints one plain line per ~10% of the whole run and
one at the end of each epoch, so logs stay readable. Every line shows the time elapsed and
an estimate of the time left (``eta``), from the mean time per step so far.

Figures given with :meth:`ProgressBar.add` are per mini-batch; the bar shows their running
means over the epoch so far, weighted by batch size, so a plain line summarises the tenth of
the run before it rather than reporting its last batch. Figures given with
:meth:`ProgressBar.update` are shown as they are.
"""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar", "is_tty", "format_seconds"]


def is_tty(stream):
    r"""Whether ``stream`` is an interactive terminal.

    Examples
    --------
    >>> import io
    >>> from sayedcnn.app.progress import is_tty
    >>> is_tty(io.StringIO())
    False
    """
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (ValueError, OSError):  # closed or detached streams
        return False


def format_seconds(seconds):
    r"""``m:ss`` below an hour, ``h:mm:ss`` from one hour on.

    Examples
    --------
    >>> from sayedcnn.app.progress import format_seconds
    >>> format_seconds(75.4), format_seconds(3725)
    ('1:15', '1:02:05')
    """
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


_fmt_time = format_seconds  # the name used before format_seconds was public


class ProgressBar:
    r"""Progress over ``epochs`` epochs of ``steps`` steps each, with elapsed time and ETA.

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
    clock : callable, optional
        Returns the time in seconds (``time.perf_counter`` by default).

    Notes
    -----
    Call :meth:`add` after each step with that mini-batch's figures (the bar averages them
    over the epoch so far), or :meth:`update` with figures already summarised, and
    :meth:`end_epoch` after each epoch. The ETA is the mean time per step measured in this
    run times the steps left; a run resumed at epoch ``e`` counts from there.

    Examples
    --------
    >>> import io
    >>> from sayedcnn.app.progress import ProgressBar
    >>> ticks = iter(range(100))
    >>> s = io.StringIO()
    >>> bar = ProgressBar(2, 5, stream=s, every=0.2, clock=lambda: 10.0 * next(ticks))
    >>> for step, loss in enumerate([0.9, 0.7, 0.5, 0.3, 0.1], start=1):
    ...     bar.add(1, step, size=32, loss=loss)
    >>> bar.end_epoch(1, loss=0.5)
    >>> print(s.getvalue())
    epoch 1/2  40% (2/5 batches) running mean loss 0.8000 0:20, eta 1:20
    epoch 1/2  80% (4/5 batches) running mean loss 0.6000 0:40, eta 1:00
    epoch 1/2 done: loss 0.5000 1:00, eta 1:00
    """

    def __init__(self, epochs, steps, stream=None, width=20, tty=None, every=0.1, clock=None):
        self.epochs = max(int(epochs), 1)
        self.steps = max(int(steps), 1)
        self.stream = sys.stdout if stream is None else stream
        self.width = int(width)
        self.tty = is_tty(self.stream) if tty is None else bool(tty)
        self.every = max(1, int(round(every * self.steps * self.epochs)))
        self.clock = time.perf_counter if clock is None else clock
        self.t0 = self.clock()
        self._first = None  # global index of the first step seen in this run
        self._last_len = 0
        self._sums = {}
        self._weight = 0.0
        self._epoch = None

    @property
    def total(self):
        """Steps in the whole run."""
        return self.epochs * self.steps

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()

    @staticmethod
    def _figures(values):
        parts = []
        for k, v in values.items():
            parts.append(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}")
        return " ".join(parts)

    def _times(self, done):
        """``"elapsed, eta left"`` after ``done`` of the run's steps."""
        elapsed = self.clock() - self.t0
        if self._first is None:
            self._first = done - 1
        counted = done - self._first
        if counted <= 0:
            return format_seconds(elapsed)
        eta = elapsed / counted * max(self.total - done, 0)
        return f"{format_seconds(elapsed)}, eta {format_seconds(eta)}"

    def add(self, epoch, step, size=1, **values):
        r"""Record mini-batch ``step`` (1-based) of epoch ``epoch`` with its figures
        ``values`` (the batch's mean loss, its accuracy, ...) over ``size`` samples, and show
        the running means of each figure over the epoch so far."""
        if self._epoch != epoch or step == 1:
            self._sums, self._weight, self._epoch = {}, 0.0, epoch
        w = float(size)
        for k, v in values.items():
            self._sums[k] = self._sums.get(k, 0.0) + w * float(v)
        self._weight += w
        means = {k: s / self._weight for k, s in self._sums.items()}
        self._show(epoch, step, means, "running mean ")

    def update(self, epoch, step, **values):
        """Show step ``step`` (1-based) of epoch ``epoch`` with ``values`` as given."""
        self._show(epoch, step, values, "")

    def _show(self, epoch, step, values, prefix):
        done = (epoch - 1) * self.steps + step
        times = self._times(done)
        head = f"epoch {epoch}/{self.epochs}"
        tail = prefix + self._figures(values) if values else ""
        if self.tty:
            frac = step / self.steps
            fill = int(round(frac * self.width))
            bar = "#" * fill + "." * (self.width - fill)
            line = f"{head} [{bar}] {100 * frac:3.0f}% {self._figures(values)} {times}"
            pad = " " * max(0, self._last_len - len(line))
            self._last_len = len(line)
            self._write("\r" + line + pad)
        elif done % self.every == 0 and step < self.steps:
            self._write(f"{head} {100 * step / self.steps:3.0f}% ({step}/{self.steps} "
                        f"batches) {tail} {times}\n")

    def end_epoch(self, epoch, **values):
        """Close epoch ``epoch`` with its summary ``values`` (one line in either mode)."""
        times = self._times(epoch * self.steps)
        line = f"epoch {epoch}/{self.epochs} done: {self._figures(values)} {times}"
        self._sums, self._weight, self._epoch = {}, 0.0, None
        if self.tty:
            pad = " " * max(0, self._last_len - len(line))
            self._write("\r" + line + pad + "\n")
            self._last_len = 0
        else:
            self._write(line + "\n")
