"""The exercise catalog: one module per notebook, each calling ``register``."""
