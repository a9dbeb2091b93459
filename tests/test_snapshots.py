"""The live view a training page draws: a family's own fields travel with what each one shows."""
import genlab
from genlab.snapshots import live_snapshot


def test_a_familys_fields_come_with_its_notes_on_them(monkeypatch):
    ds = genlab.load_dataset("toy:8gaussians")
    model = genlab.create_model("gan", ds, hidden_units=16, hidden_layers=1)
    assert live_snapshot(model, ds)["field_notes"] == model.field_notes()
    note = "The game's own discriminator, not the ratio critic."
    monkeypatch.setattr(type(model), "field_notes", lambda self: {model.critic_field: note})
    live = live_snapshot(model, ds)
    assert set(live["fields"]) == {model.critic_field} and live["field_notes"] == {model.critic_field: note}
