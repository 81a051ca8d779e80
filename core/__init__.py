"""WattsUp core: everything that thinks. Never imports streamlit (except core.cache)."""
