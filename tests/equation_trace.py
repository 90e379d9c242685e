r"""A pytest plugin that records which functions of the equation index each test calls.

Loaded by ``tests/test_equation_links.py`` in a separate ``pytest`` run
(``-p equation_trace``). For every test it runs, it records, by profiling the calls made
while the test body runs, which of the functions named in
:data:`sayedcnn.fidelity.equations.INDEX` were entered, and writes
``{test id without parameters: [names]}`` as JSON to the path in ``SAYEDCNN_TRACE_OUT``.
A class counts as called when one of its own methods (``__init__``, a property, ...) runs.
"""

import inspect
import json
import os
import sys
import threading

import pytest


def _codes(obj):
    """The code objects that stand for ``obj``: a function's own, or those of a class's
    methods and properties (defined in the class itself)."""
    obj = inspect.unwrap(obj) if callable(obj) and not inspect.isclass(obj) else obj
    if isinstance(obj, property):
        return [f.__code__ for f in (obj.fget, obj.fset) if f is not None]
    if inspect.isclass(obj):
        out = []
        for member in vars(obj).values():
            if isinstance(member, (staticmethod, classmethod)):
                member = member.__func__
            if isinstance(member, property):
                out += _codes(member)
            elif inspect.isfunction(member):
                out.append(inspect.unwrap(member).__code__)
        return out
    code = getattr(obj, "__code__", None)
    return [code] if code is not None else []


def _resolve_property(name):
    """``module:Class.attr`` where ``attr`` is a property: return the property object itself
    (``getattr`` on the class gives it; on an instance it would be evaluated)."""
    module, _, qual = name.partition(":")
    obj = __import__(module, fromlist=["_"])
    for part in qual.split("."):
        obj = inspect.getattr_static(obj, part)
    return obj


class EquationTrace:
    def __init__(self, out):
        from sayedcnn.fidelity import equations

        self.out = out
        self.code_names = {}
        for entry in equations.INDEX.values():
            for name in entry.functions:
                try:
                    obj = _resolve_property(name)
                except (ImportError, AttributeError):
                    continue  # a missing function is never called: its link fails
                for code in _codes(obj):
                    self.code_names.setdefault(code, set()).add(name)
        self.calls = {}

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        seen = set()
        wanted = self.code_names

        def profile(frame, event, arg):
            if event == "call" and frame.f_code in wanted:
                seen.add(frame.f_code)

        threading.setprofile(profile)
        sys.setprofile(profile)
        try:
            yield
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
        names = self.calls.setdefault(item.nodeid.split("[")[0], set())
        for code in seen:
            names |= self.code_names[code]

    def pytest_sessionfinish(self, session):
        with open(self.out, "w", encoding="utf-8") as fh:
            json.dump({k: sorted(v) for k, v in self.calls.items()}, fh, indent=0)


def pytest_configure(config):
    out = os.environ.get("SAYEDCNN_TRACE_OUT")
    if out:
        config.pluginmanager.register(EquationTrace(out), "equation-trace")
