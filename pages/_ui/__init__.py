"""What the pages share, one concern a module; a package, so Streamlit never lists it as a page.

routing   every run goes through app.py (and why the folder is still called pages/)
links     widgets whose value outlives the page, and the view's state in a shareable URL
datasets  the data sets the sidebar offers, their titles, loaded once per server
jobs      the server-wide job manager, its limits, this session's owner id
sidebar   the sidebar every page draws: data set, view, seed, your images
runs      the run picker over saved runs
preamble  the start every data page shares: sidebar, title, a loaded data set, a run
"""
