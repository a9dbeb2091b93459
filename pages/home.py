"""Home: the whole field in one line, and where to click first."""
import streamlit as st

from genlab import zoo
from genlab.runs import default_runs_root
from pages._shared import PAGES, dataset_title, sidebar

selection = sidebar()


def load_zoo() -> None:
    try:
        installed = zoo.install(default_runs_root())
    except (FileNotFoundError, ValueError) as exc:
        st.session_state["zoo_message"] = ("error", str(exc))
        return
    total = len(zoo.manifest()["entries"])
    st.session_state["zoo_message"] = ("success", f"{total} pretrained models are ready ({len(installed)} new): "
                                       "every page now has a trained model to question.")

st.title("GenLab")
st.markdown("A laboratory for **deep generative models**: pick data, pick a model family, "
            "train it and watch the divergence fall, then ask the model questions.")

with st.container(border=True):
    st.markdown(f"**Where to click first** — the current data set is {dataset_title(selection.name)}; "
                "change it in the sidebar.")
    look, train, compare = st.columns(3)
look.page_link(PAGES["data"], label="Look at the data and the two baselines", icon=":material/scatter_plot:")
train.page_link(PAGES["train"], label="Train a model and watch d fall", icon=":material/model_training:")
compare.page_link(PAGES["compare"], label="Compare saved runs", icon=":material/leaderboard:")

with st.container(border=True):
    st.markdown("**Workshop mode** — load small pretrained models of every family (trained here on the toys "
                "and on digits) so every page works at once, without waiting for training.")
    st.button("Load the pretrained models", icon=":material/school:", on_click=load_zoo)
    if "zoo_message" in st.session_state:
        kind, text = st.session_state["zoo_message"]
        (st.success if kind == "success" else st.error)(text)

st.markdown("#### The field in one line")
st.markdown("We observe a data set $D = \\{x^{(1)}, \\dots, x^{(n)}\\}$, a finite sample from an unknown "
            "$p_{\\text{data}}$. We pick a model family $\\mathcal{M}$ of distributions $p_\\theta$ and look for")
st.latex(r"\min_{\theta \in \mathcal{M}} \; d\big(p_{\text{data}},\, p_\theta\big)")
st.markdown("where $d$ is a divergence. Maximum likelihood is the forward KL: "
            "$\\mathrm{KL}(p_{\\text{data}}\\,\\|\\,p_\\theta) = \\mathbb{E}_{p_{\\text{data}}}[-\\log p_\\theta(x)] "
            "- H(p_{\\text{data}})$, so the held-out negative log-likelihood (NLL) is the number every "
            "family here is measured by.")

st.markdown("#### Three questions to ask a trained model")
density, sampling, representation = st.columns(3)
density.markdown("**Density estimation**  \nHow likely is this $x$? $\\;p_\\theta(x)$, in nats or bits per "
                 "dimension, exact or a bound.")
sampling.markdown("**Sampling**  \nMake new data: $\\;x \\sim p_\\theta$. Good samples and good "
                  "likelihoods are not the same thing.")
representation.markdown("**Representation**  \nFeatures of $x$: a latent code $z$ that organises the data "
                        "without labels.")

st.markdown("#### Parametric or non-parametric")
st.markdown("A **parametric** model has a fixed number of parameters however much data it sees — a single "
            "Gaussian has a mean and a covariance. A **non-parametric** model grows with the data — kernel "
            "density estimation keeps every training point and puts a small bump on each. The Data page "
            "fits both to your data set; every deep model should beat them.")

st.markdown("#### The curse of dimensionality")
st.markdown("A binary 28×28 image is one of $2^{784} \\approx 10^{236}$ possible images, and we have tens of "
            "thousands of examples. No table of counts can cover that space: a model has to *generalise*, "
            "and the family $\\mathcal{M}$ decides how. The Data page puts this number next to your data set.")

st.markdown("#### Play with the ideas")
st.markdown("The **Concepts** page turns the notes' first ideas into experiments: generative vs. "
            "discriminative classifiers (decision boundaries and learning curves), a Gaussian vs. a KDE as the "
            "data grow, the count of possible images against real data-set sizes, and a linear probe on "
            "learned features.")
st.page_link(PAGES["concepts"], label="Open Concepts", icon=":material/lightbulb:")
