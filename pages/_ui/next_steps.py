"""The learner's path: start from a question (Home), and from a finished run go on to its three questions."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

import genlab
from genlab.jobs import JobState
from genlab.runs import WEIGHTS
from pages._ui.capabilities import default_family
from pages._ui.jobs import current_job
from pages._ui.routing import PAGES

__all__ = ["QUESTIONS", "Question", "question_buttons", "next_links", "follow_just_trained", "newer_run_note",
           "JUST_TRAINED_KEY"]

JUST_TRAINED_KEY = "_just_trained"  # the folder of the run this visitor trained last, once it finished
ASKED_KEY = "_asked"  # the page of the question a student started from on Home
QUESTION_DATA = ("mnist5k", "binary")  # 28×28 handwritten digits, bundled: a VAE learns them in seconds


@dataclass(frozen=True)
class Question:
    """A question a student may start from, the page that answers it, and what the button says."""

    page: str
    ask: str
    label: str
    icon: str


QUESTIONS = (
    Question("density", "Score my handwriting", "How likely is a digit I draw?", ":material/draw:"),
    Question("samples", "See new digits", "Draw digits nobody wrote", ":material/auto_awesome:"),
    Question("latent", "See the map", "Where does each digit sit in a latent space?", ":material/bubble_chart:"),
)


def _start_from(question: Question) -> None:
    """Set up data and a family that answers every question, then open Train on them."""
    name, view = QUESTION_DATA
    ds = genlab.load_dataset(name, view=view)
    fitting = {n: cls for n, cls in genlab.families().items() if genlab.fits(n, ds.spec) is None}
    family = default_family(fitting, ds.spec)
    st.session_state.update({"dataset": name, "view": view, "train_family": family, ASKED_KEY: question.page})
    st.switch_page(PAGES["train"], query_params={"dataset": name, "view": view, "family": family})


def question_buttons() -> None:
    """One button per question: each sets MNIST 5k (binary) and a family answering all three, and opens Train."""
    for column, question in zip(st.columns(len(QUESTIONS)), QUESTIONS):
        if column.button(f"{question.ask}", icon=question.icon, width="stretch", help=question.label,
                         key=f"ask:{question.page}"):
            _start_from(question)


def follow_just_trained() -> None:
    """Once this visitor's run has ended and is saved, the query pages open it (once: a later choice stands)."""
    job = current_job()
    if job is None or job.state not in (JobState.FINISHED, JobState.STOPPED):
        return
    folder = str(job.view().folder)
    if st.session_state.get(JUST_TRAINED_KEY) != folder and Path(folder, WEIGHTS).exists():
        st.session_state[JUST_TRAINED_KEY] = st.session_state["run"] = folder


def next_links(folder: str, title: str) -> None:
    """After a finished run: "Next: Density · Samples · Latent", each opening this run."""
    follow_just_trained()
    st.markdown(f"**Next: ask your {title} a question**")
    asked = st.session_state.get(ASKED_KEY)
    order = sorted(QUESTIONS, key=lambda q: q.page != asked)  # the question the student started from first
    for column, question in zip(st.columns(len(order)), order):
        column.page_link(PAGES[question.page], label=question.page.capitalize(), icon=question.icon,
                         query_params={"run": Path(folder).name}, help=question.label)


def newer_run_note(shown_folder: str, folders: list[str]) -> None:
    """Say so when the visitor's own newest run is not the one shown (a link or an old choice picked another)."""
    mine = st.session_state.get(JUST_TRAINED_KEY)
    if mine and mine != shown_folder and mine in folders:
        st.info("A newer run that you trained is on this data: pick it in **Trained run** above.",
                icon=":material/update:")
