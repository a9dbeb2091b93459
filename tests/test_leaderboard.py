"""The runs table: every yardstick a run reports, labelled, with its direction, and a CSV that reads back."""
import csv
import io

from genlab import leaderboard
from genlab.presets import full_hparams


def run(name, family, summary, dataset="digits", view="binary", hparams=None):
    return {"name": name, "folder": f"runs/{name}",
            "config": {"family": family, "title": family.upper(), "dataset": dataset, "view": view, "seed": 0,
                       "hparams": full_hparams(family, hparams or {}), "created": "2026-01-01T10:00:00"},
            "summary": {"log_prob_kind": "exact", "num_parameters": 10, "train_seconds": 1.5,
                        "train": {"status": "finished"}, **summary}}


RUNS = [
    run("a", "made", {"test_nll_nats": 30.0, "bits_per_dim": 0.7, "mmd": 0.01, "n_test": 359, "seconds": 2.0}),
    run("b", "vae", {"test_nll_nats": 32.0, "test_elbo_nats": -33.0, "test_iw_samples": 64, "modes_total": 8},
        hparams={"latent_dim": 2, "hidden_units": 256}),
    run("c", "gan", {"test_nll_nats": None, "mmd": 0.02, "log_prob_kind": None}, hparams={"learning_rate": 0.001}),
]


def test_yardstick_keys_known_first_then_extras_and_no_bookkeeping():
    keys = leaderboard.yardstick_keys(r["summary"] for r in RUNS)
    assert keys == ["test_nll_nats", "bits_per_dim", "mmd", "test_elbo_nats"]


def test_labels_and_directions():
    assert leaderboard.yardstick_label("kl_nats") == "KL (nats)"
    assert leaderboard.yardstick_label("test_elbo_nats") == "test elbo (nats)"
    assert leaderboard.better("bits_per_dim") == "lower"
    assert leaderboard.better("modes_covered") == "higher"
    assert leaderboard.better("test_elbo_nats") == "higher"  # a log-likelihood bound
    assert leaderboard.better("test_made_up") is None


def test_runs_table_has_a_row_per_run_and_a_column_per_yardstick():
    rows = leaderboard.runs_table(RUNS)
    assert [r["run"] for r in rows] == ["a", "b", "c"]
    assert rows[0]["bits/dim"] == 0.7 and rows[1]["bits/dim"] is None
    assert rows[1]["test elbo (nats)"] == -33.0
    assert rows[2]["log p kind"] == "—" and rows[2]["test NLL (nats)"] is None
    assert rows[0]["created"] == "2026-01-01 10:00:00" and rows[0]["status"] == "finished"


def test_each_row_says_what_differs_from_the_familys_defaults():
    rows = leaderboard.runs_table(RUNS)
    assert [r["settings"] for r in rows] == ["defaults", "Latent plane", "learning rate 0.001"]


def test_csv_reads_back_with_every_column():
    rows = leaderboard.runs_table(RUNS)
    back = list(csv.DictReader(io.StringIO(leaderboard.to_csv(rows))))
    assert len(back) == 3 and list(back[0]) == list(rows[0])
    assert float(back[0]["test NLL (nats)"]) == 30.0 and back[2]["test NLL (nats)"] == ""


def test_a_race_is_on_kl_for_toys_and_on_test_nll_for_images():
    toys = [{"kl_nats": 0.1, "mmd": 0.2}, {"mmd": 0.1}]
    assert leaderboard.headline("continuous", toys) == "kl_nats"
    assert leaderboard.headline("binary", [r["summary"] for r in RUNS]) == "test_nll_nats"
    assert leaderboard.headline("binary", [{"mmd": 0.3}]) == "mmd"  # GANs alone still race, on MMD²
    assert leaderboard.headline("binary", [{"seed": 1}]) is None


def test_ranked_best_first_and_unscored_last():
    rows = leaderboard.runs_table(RUNS)
    order = leaderboard.ranked(rows, "test_nll_nats")
    assert [(r["run"], r["rank"]) for r in order] == [("a", 1), ("b", 2), ("c", None)]
    elbos = [{**row, "test elbo (nats)": elbo} for row, elbo in zip(rows, (-40.0, -33.0, None))]
    higher = leaderboard.ranked(elbos, "test_elbo_nats")  # a log-likelihood bound: higher is better
    assert [(r["run"], r["rank"]) for r in higher] == [("b", 1), ("a", 2), ("c", None)]
