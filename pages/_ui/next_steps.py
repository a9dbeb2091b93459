"""The learner's path: start from a question (Home), and from a finished run go on to its three questions."""
from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

import genlab
from pages._ui.capabilities import default_family
from pages._ui.jobs import KEPT_SECONDS_KEY, SECONDS_KEY
from pages._ui.routing import PAGES
from pages._ui.runs import follow_just_trained, run_link

__all__ = ["QUESTIONS", "Question", "question_buttons", "next_links", "ASKED_KEY"]

ASKED_KEY = "_asked"  # the page of the question a student started from on Home
QUESTION_DATA = ("mnist5k", "binary")  # 28×28 handwritten digits, bundled: a VAE learns them in seconds
QUESTION_SECONDS = 60  # a VAE's samples on them are recognisable digits after about this long on one CPU core


@dataclass(frozen=True)
class Question:
    """A question a student may start from, the page that answers it, and what the button says."""

    page: str
    ask: str
    label: str
    icon: str
    about: str  # what the page answers, for any data (a Next link's help)
    link: tuple = ()  # query parameters the page opens with when the student started from this question


QUESTIONS = (
    Question("density", "Score my handwriting", "How likely is a digit I draw?", ":material/draw:",
             "How likely is an input under this model: log p_θ(x) for a point, an image or a drawing",
             (("input", "draw"),)),
    Question("samples", "See new digits", "Draw digits nobody wrote", ":material/auto_awesome:",
             "New samples x ~ p_θ, drawn by this model"),
    Question("latent", "See the map", "Where does each digit sit in a latent space?", ":material/bubble_chart:",
             "Where this model places each input: its latent space, or what stands in for one"),
)


def _start_from(question: Question) -> None:
    """Set up data and a family that answers every question, then open Train on them."""
    name, view = QUESTION_DATA
    ds = genlab.load_dataset(name, view=view)
    fitting = {n: cls for n, cls in genlab.families().items() if genlab.fits(n, ds.spec) is None}
    family = default_family(fitting, ds.spec)
    st.session_state.update({"dataset": name, "view": view, "train_family": family, ASKED_KEY: question.page,
                             SECONDS_KEY: QUESTION_SECONDS, KEPT_SECONDS_KEY: QUESTION_SECONDS})
    st.switch_page(PAGES["train"], query_params={"dataset": name, "view": view, "family": family})


def question_buttons() -> None:
    """One button per question: each sets MNIST 5k (binary), a family answering all three and a budget, opens Train."""
    for column, question in zip(st.columns(len(QUESTIONS)), QUESTIONS):
        if column.button(f"{question.ask}", icon=question.icon, width="stretch", help=question.label,
                         key=f"ask:{question.page}"):
            _start_from(question)


def next_links(folder: str, title: str, here: str | None = None) -> None:
    """"Next: Density · Samples · Latent", each opening this run as the run picker names it.

    After a finished run on Train all three; on a query page (`here`) the other two.
    """
    follow_just_trained()
    st.markdown(f"**Next: ask your {title} {'another' if here else 'a'} question**")
    asked = st.session_state.get(ASKED_KEY)
    order = sorted((q for q in QUESTIONS if q.page != here), key=lambda q: q.page != asked)  # the student's first
    for column, question in zip(st.columns(len(QUESTIONS)), order):
        opens = {"run": run_link(folder), **(dict(question.link) if question.page == asked else {})}
        column.page_link(PAGES[question.page], label=question.page.capitalize(), icon=question.icon,
                         query_params=opens, help=question.about)
