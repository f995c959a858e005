"""Keras must see its backend before its first import: JAX (TensorFlow is not installed)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
