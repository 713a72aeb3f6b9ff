"""Streamlit helpers: the only part of lib that imports streamlit."""
