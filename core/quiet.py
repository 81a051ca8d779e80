"""Silence the chatty libraries (TensorFlow, cmdstanpy, Prophet).

TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL`` at import time, so the detector modules call
:func:`quiet_libraries` at their top, before the lazy ``import keras``. Prophet resets its own logger
to INFO when it is imported, so they call it again right after ``from prophet import Prophet``;
each call is cheap. The user's environment wins (``setdefault``): ``TF_CPP_MIN_LOG_LEVEL=0`` still
brings TensorFlow's logs back.
"""

from __future__ import annotations

import logging
import os

_LOGGERS = ("prophet", "prophet.models", "prophet.plot", "tensorflow", "absl", "h5py")


def quiet_libraries() -> None:
    """Turn TensorFlow, absl, cmdstanpy and Prophet logging down to errors. Idempotent."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # C++ info/warning lines from TF
    os.environ.setdefault(
        "TF_ENABLE_ONEDNN_OPTS", "0"
    )  # the oneDNN banner, and bit-exact CPU maths
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    # cmdstanpy adds a console handler at first use unless one exists; give it a silent one.
    cmdstan = logging.getLogger("cmdstanpy")
    cmdstan.setLevel(logging.ERROR)
    cmdstan.propagate = False
    if not any(isinstance(h, logging.NullHandler) for h in cmdstan.handlers):
        cmdstan.handlers = [logging.NullHandler()]
