"""What the pages share, one concern a module; a package, so Streamlit never lists it as a page.

routing   every run goes through app.py (and why the folder is still called pages/)
links     widgets whose value outlives the page, and the view's state in a shareable URL
datasets  the data sets the sidebar offers, their titles, loaded once per server
jobs      the server-wide job manager, its limits, this session's id, starting a job
sidebar   the sidebar every page draws: data set, view, seed, your images
runs      the runs this visitor may see (own, public, shared with them) and the run picker
workspace this visitor's workspace (a cookie), the server's stores, the budgets
text      what a visitor sent, shown as text, never as markdown
errors    the hosted configuration: a reference for the visitor, the traceback in the log
preamble  the start every data page shares: sidebar, title, a loaded data set, a run
"""
