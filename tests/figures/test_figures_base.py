"""How numbers and metric keys read on a figure."""
import html
import math

from genlab import figures


def test_format_number():
    assert figures.format_number(3209.58871) == "3,209.589"
    assert figures.format_number(None) == figures.format_number(math.inf) == "—"
    assert figures.format_number(1.5e-7) == "1.5e-07"


def test_metric_labels_read_as_words():
    assert figures.metric_label("valid_kl_nats") == "validation KL (nats)"
    assert figures.metric_label("train_recon_nats") == "recon (nats)"
    assert figures.metric_label("train_generator_loss") == "generator loss"


def test_a_typed_name_reads_as_written_on_a_chart():
    label = figures.plain_label('<a href="http://evil.io">win</a> %{y} & co')
    assert "<" not in label and ">" not in label and "%{" not in label  # no tag, link or hover placeholder acts
    assert html.unescape(label) == '<a href="http://evil.io">win</a> %{y} & co'  # plotly decodes the entities
