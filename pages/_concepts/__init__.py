"""The Concepts page's lessons, one module each; `pages/concepts.py` lays them out as tabs.

The package name starts with `_`, so Streamlit never lists these modules as pages.
"""
