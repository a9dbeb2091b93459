"""GenLab, the app: navigation over the pages. Run with `streamlit run app.py`.

Each page draws the shared sidebar itself (pages/_ui/sidebar.py), so the selection of
dataset, view and seed is the same on every page and survives switching between them.
"""
import streamlit as st

from pages._ui.errors import run_page
from pages._ui.routing import follow_deep_link, mark_entrypoint
from pages._ui.timing import timed_run
from pages._ui.upload_budget import install as budget_uploads

st.set_page_config(page_title="GenLab", page_icon=":material/science:", layout="wide")
mark_entrypoint()
budget_uploads()  # what one session may hold in upload memory (pages/_ui/upload_budget.py)

navigation = st.navigation([
    st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("pages/data.py", title="Data", icon=":material/scatter_plot:"),
    st.Page("pages/train.py", title="Train", icon=":material/model_training:"),
    st.Page("pages/density.py", title="Density", icon=":material/query_stats:"),
    st.Page("pages/samples.py", title="Samples", icon=":material/auto_awesome:"),
    st.Page("pages/latent.py", title="Latent", icon=":material/bubble_chart:"),
    st.Page("pages/compare.py", title="Compare", icon=":material/leaderboard:"),
    st.Page("pages/concepts.py", title="Concepts", icon=":material/lightbulb:"),
])
with timed_run("full", navigation.url_path or "home"):  # logged when GENLAB_TIMING_LOG is set
    follow_deep_link(navigation.url_path)
    run_page(navigation)  # GENLAB_HOSTED=1: an error shows a short reference, the log keeps the traceback
