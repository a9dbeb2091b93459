"""Home: the whole field in one line, and where to click first."""
import streamlit as st

from genlab import zoo
from genlab.runs import default_runs_root
from pages._ui.datasets import dataset_title
from pages._ui.next_steps import question_buttons
from pages._ui.rooms import show_room_view
from pages._ui.routing import PAGES
from pages._ui.sidebar import sidebar

CONCEPTS_TAB = "concepts_tab"  # the Concepts page's tabs follow this query parameter
IDEAS = (  # (idea, one sentence, the Concepts tab that shows it, the section within that tab)
    ("Generative vs. discriminative",
     "A discriminative classifier learns only p(y | x); a generative one models p(x | y), so it can also sample a "
     "class or flag an input that fits no class.", "Generative vs. discriminative", None),
    ("Parametric vs. non-parametric",
     "A Gaussian keeps a fixed number of parameters, a kernel density estimate keeps every training point: watch "
     "both as the data grow.", "Parametric vs. non-parametric", None),
    ("The curse of dimensionality",
     "A binary 28×28 image is one of $2^{784} \\approx 10^{236}$ possible images; no data set comes close to "
     "covering them, so a model has to generalise.", "Curse of dimensionality", None),
    ("Downstream inference: a linear probe",
     "How much are a model's unsupervised features worth to a linear classifier that sees few labels?",
     "Downstream inference", "Linear probe"),
    ("Downstream inference: conditional completion",
     "Erase part of a digit and let an autoregressive model draw what is missing, "
     "$p_\\theta(x_{\\text{erased}} \\mid x_{\\text{kept}})$.", "Downstream inference", "Conditional completion"),
)

selection = sidebar()


def where_pretrained(name: str, view: str) -> str:
    return dataset_title(name) + ("" if view == "continuous" else f" ({view})")


def load_zoo() -> None:
    try:
        installed = zoo.install(default_runs_root())
        on = zoo.datasets_with_models()
    except (FileNotFoundError, ValueError) as exc:
        st.session_state["zoo_message"] = ("error", str(exc))
        return
    total = len(zoo.manifest()["entries"])
    st.session_state["zoo_message"] = ("success", f"{total} pretrained models are ready ({len(installed)} new), on "
                                       + ", ".join(where_pretrained(*pair) for pair in on) + ". On these data "
                                       "sets every page has a trained model to question; on the others, train one.")


def switch_data(name: str, view: str) -> None:
    st.session_state.update({"dataset": name, "view": view if view != "continuous" else st.session_state.get("view")})

st.title("GenLab")
st.markdown("A laboratory for **deep generative models**: pick data, pick a model family, "
            "train it and watch the divergence fall, then ask the model questions.")

with st.container(border=True):
    st.markdown("**Start from a question** — each button picks handwritten digits (MNIST 5k, 28×28, black and "
                "white) and a model family that answers all three questions, then opens Train: press Start, and "
                "the finished run leads on to your question.")
    question_buttons()
    st.caption("The image data sets: **Digits 8×8** are 1,797 tiny scanned digits (quickest to train), "
               "**MNIST 5k** is 5,000 bundled 28×28 handwritten digits (the one to draw on), and "
               "**MNIST (local folder)** is the full 70,000 if you put its files in the data folder.")

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
        pretrained = zoo.datasets_with_models() if kind == "success" else []
        if pretrained and (selection.name, selection.view) not in pretrained:
            st.markdown(f"{dataset_title(selection.name)} has no pretrained model; switch to a data set that has:")
            for column, (name, view) in zip(st.columns(len(pretrained)), pretrained):
                column.button(where_pretrained(name, view), key=f"zoo_switch:{name}:{view}", on_click=switch_data,
                              args=(name, view), width="stretch")
    if st.button("Teaching? Open a room", icon=":material/co_present:",
                 help="Compare's room board: the class publishes runs to one board that ranks them live."):
        show_room_view()
        st.switch_page(PAGES["compare"])

st.markdown("#### The field in one line")
st.markdown("We observe a data set $D = \\{x^{(1)}, \\dots, x^{(n)}\\}$, a finite sample from an unknown "
            "$p_{\\text{data}}$. We pick a model family $\\mathcal{M}$ of distributions $p_\\theta$ and look for")
st.latex(r"\min_{\theta \in \mathcal{M}} \; d\big(p_{\text{data}},\, p_\theta\big)")
st.markdown("where $d$ is a divergence. Maximum likelihood is the forward KL: "
            "$\\mathrm{KL}(p_{\\text{data}}\\,\\|\\,p_\\theta) = \\mathbb{E}_{p_{\\text{data}}}[-\\log p_\\theta(x)] "
            "- H(p_{\\text{data}})$, so the held-out negative log-likelihood (NLL) measures every family "
            "that has a density (exactly, or through a bound or an estimate, marked as such). GANs have no "
            "density and the EBM's is unnormalised: they are measured by a KL on the 2-D toys and by a "
            "sample-based MMD² on images.")

st.markdown("#### Three questions to ask a trained model")
density, sampling, representation = st.columns(3)
density.markdown("**Density estimation**  \nHow likely is this $x$? $\\;p_\\theta(x)$, in nats or bits per "
                 "dimension, exact or a bound.")
density.page_link(PAGES["density"], label="Density: score an input", icon=":material/query_stats:")
sampling.markdown("**Sampling**  \nMake new data: $\\;x \\sim p_\\theta$. Good samples and good "
                  "likelihoods are not the same thing.")
sampling.page_link(PAGES["samples"], label="Samples: draw new data", icon=":material/auto_awesome:")
representation.markdown("**Representation**  \nFeatures of $x$: a latent code $z$ that organises the data "
                        "without labels.")
representation.page_link(PAGES["latent"], label="Latent: explore the embeddings", icon=":material/bubble_chart:")

st.markdown("#### The notes' ideas, to play with")
for idea, sentence, tab, section in IDEAS:
    text, link = st.columns([3, 2], vertical_alignment="center")
    text.markdown(f"**{idea}.** {sentence}")
    link.page_link(PAGES["concepts"], label=" › ".join(["Concepts", tab] + ([section] if section else [])),
                   icon=":material/lightbulb:", query_params={CONCEPTS_TAB: tab})
