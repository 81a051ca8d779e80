"""Fleet scoring: the per-meter function and its Dask runner."""
