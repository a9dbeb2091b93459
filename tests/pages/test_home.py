"""Home: workshop mode installs the pretrained zoo, and every idea links to where it is shown."""
import ast
from pathlib import Path
from urllib.parse import parse_qs

from streamlit.testing.v1 import AppTest

import genlab
from genlab import zoo

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_workshop_mode_installs_the_zoo(runs_in_tmp):
    at = AppTest.from_file(APP, default_timeout=30).run()
    (button,) = [b for b in at.button if b.label == "Load the pretrained models"]
    button.click().run()
    assert not at.exception
    assert at.success and "pretrained models are ready" in at.success[0].value
    assert len(genlab.list_runs(runs_in_tmp)) == len(zoo.manifest()["entries"])
    compare = at.switch_page("pages/compare.py").run()
    assert not compare.exception
    at.session_state["dataset"], at.session_state["view"] = "digits", "gray8"
    latent = at.switch_page("pages/latent.py").run()  # the newest zoo run on digits cannot encode: skipped
    assert not latent.exception
    picked = next(r for r in genlab.list_runs(runs_in_tmp) if r["folder"] == latent.session_state["run"])
    family = picked["config"]["family"]
    assert genlab.models.Capability.of(genlab.families()[family], "encode"), family
    assert not [i for i in latent.info if "no latent space" in i.value]


def test_home_says_which_families_the_held_out_nll_measures(runs_in_tmp):
    at = AppTest.from_file(APP, default_timeout=30).run()
    text = " ".join(m.value for m in at.markdown)
    assert "GANs have no density" in text and "is the number every family" not in text


CONCEPTS = Path(__file__).resolve().parents[2] / "pages" / "concepts.py"


def concepts_tabs() -> tuple[str, ...]:
    """The Concepts page's tab labels, read from its source (importing the page would run it)."""
    tree = ast.parse(CONCEPTS.read_text())
    (value,) = [node.value for node in tree.body if isinstance(node, ast.Assign)
                and any(getattr(target, "id", None) == "TABS" for target in node.targets)]
    return ast.literal_eval(value)


def test_home_links_each_question_and_idea_to_where_it_is_shown(runs_in_tmp):
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    links = {link.proto.label: link.proto for link in at.get("page_link")}
    for page in ("density", "samples", "latent"):
        assert any(link.page == page for link in links.values()), page  # a link holds the url path
    ideas = {label: parse_qs(link.query_string)["concepts_tab"][0] for label, link in links.items()
             if link.page == "concepts"}
    assert set(ideas.values()) == set(concepts_tabs())  # every tab, each under its own label
    for label, tab in ideas.items():
        assert label.startswith(f"Concepts › {tab}")
    sections = [label.split(" › ")[-1] for label in ideas if label.count(" › ") == 2]
    assert sorted(sections) == ["Conditional completion", "Linear probe"]


def test_the_completion_link_opens_its_tab_and_section(runs_in_tmp):
    at = AppTest.from_file(str(CONCEPTS), default_timeout=60)
    at.session_state["_entered_through_app"] = True  # what app.py's mark_entrypoint() sets
    at.session_state["concepts_probe_seconds"] = 0.5
    at.query_params["concepts_tab"] = "Downstream inference"  # the query string of the Home link
    at.run()
    assert not at.exception, at.exception
    assert [h.value for h in at.subheader] == ["Linear probe", "Conditional completion"]
