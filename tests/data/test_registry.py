"""The data-source registry: every source loads (or says what to put where), titles never show a path,
unknown names list the choices, and a new source is one declaration."""
import pytest
import torch

import genlab
from genlab import bench, presets, zoo
from genlab.data import dataset_names, dataset_title, is_image_set, load_dataset, registry, source_of, sources
from genlab.data.base import Dataset
from genlab.data.registry import Source

NAMED = [s for s in sources() if s.prefix is None and s.offline]
LOCAL = [s for s in sources() if not s.offline]


@pytest.mark.parametrize("source", NAMED, ids=lambda s: s.name)
def test_every_offline_source_loads_in_each_of_its_views(source):
    for view in source.views:
        ds = load_dataset(source.name, view=view)
        assert (ds.name, ds.view) == (source.name, view)
        assert ds.is_toy == (source.kind == "toy") == (not is_image_set(source.name))
        assert len(ds.train) > 0 and len(ds.test) > 0 and torch.isfinite(ds.train).all()
    assert load_dataset(source.name).view == source.views[0]


@pytest.mark.parametrize("source", LOCAL, ids=lambda s: s.name)
def test_a_local_folder_source_without_its_files_says_what_to_put_where(source, tmp_path):
    with pytest.raises(FileNotFoundError) as caught:
        load_dataset(source.name, root=str(tmp_path))
    message = str(caught.value)
    assert str(tmp_path) in message and "put" in message and message.endswith(".")


def test_your_images_load_from_a_folder_and_a_missing_folder_is_a_sentence(tmp_path):
    from PIL import Image

    for i in range(12):
        Image.new("L", (10, 10), color=20 * i).save(tmp_path / f"{i}.png")
    ds = load_dataset(f"folder:{tmp_path}", view="gray8", size=8)
    assert ds.shape == (1, 8, 8) and is_image_set(ds.name)
    with pytest.raises(FileNotFoundError, match="does not exist: point folder: at a folder or a .zip"):
        load_dataset(f"folder:{tmp_path / 'nowhere'}")


def test_titles_never_show_a_path():
    for source in sources():
        assert "/" not in source.title_of(source.name) and "\\" not in source.title_of(source.name)
    assert dataset_title("folder:/home/someone/pictures/cats") == "your images (cats)"
    assert dataset_title("folder:/home/someone/pictures/cats.zip") == "your images (cats.zip)"
    assert dataset_title("toy:moons") == "moons (2-D toy)"
    assert dataset_title("toy:drawn") == "drawn by you (2-D)"
    assert dataset_title("digits") == "Digits 8×8 (scikit-learn)"
    assert dataset_title("mnist") == "MNIST (local folder)"


def test_unknown_names_and_wrong_views_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="Unknown dataset 'nope'; choose one of:") as caught:
        load_dataset("nope")
    assert all(s.name in str(caught.value) for s in sources())
    with pytest.raises(ValueError, match="non-empty string"):
        load_dataset("")
    with pytest.raises(ValueError, match="only view is 'continuous'"):
        load_dataset("toy:moons", view="binary")
    with pytest.raises(ValueError, match="binary / gray8"):
        load_dataset("digits", view="continuous")


def test_dataset_names_keep_the_public_order_and_leave_out_yours():
    toys = ["toy:8gaussians", "toy:checkerboard", "toy:moons", "toy:rings", "toy:spirals", "toy:pinwheel"]
    assert dataset_names(offline_only=True) == toys + ["digits", "mnist5k"]
    assert dataset_names() == toys + ["digits", "mnist5k", "mnist", "fashion-mnist"]
    assert genlab.dataset_names() == dataset_names()
    assert [s.name for s in sources() if s.yours] == ["toy:drawn", "folder:PATH"]


def test_a_drawn_density_is_rebuilt_from_what_its_run_recorded():
    ds = load_dataset("toy:drawn", seed=3)
    again = source_of("toy:drawn").rebuild(**ds.source)
    assert torch.equal(ds.train, again.train)


def test_the_sets_bench_zoo_and_presets_use_are_registered_in_a_declared_view():
    used = [*bench.DEFAULT_DATASETS, *zoo.ZOO_DATASETS, *presets.BENCH_DATASETS.values()]
    for name, view in used:
        source = source_of(name)
        assert source.offline and (view or source.views[0]) in source.views
    assert zoo.entry_name("gmm", "toy:8gaussians", "continuous") == "gmm-8gaussians-continuous"
    assert zoo.entry_name("made", "digits", "binary") == "made-digits-binary"


def test_a_new_source_is_one_declaration(monkeypatch):
    def constant(request):
        points = torch.full((4, 2), float(request.seed))
        return Dataset(request.name, points, points.clone(), "continuous")

    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register(Source("toy:still", "still (2-D toy)", "toy", ("continuous",), offline=True, load=constant))
    assert "toy:still" in dataset_names() and dataset_title("toy:still") == "still (2-D toy)"
    assert load_dataset("toy:still", seed=2).train.eq(2).all()


def test_a_declaration_with_an_unknown_kind_is_refused():
    with pytest.raises(TypeError, match="kind must be one of toy, image"):
        Source("x", "x", "audio", ("continuous",), offline=True, load=lambda request: None)


def test_genlab_list_reads_titles_and_views_from_the_registry():
    from genlab.cli import cmd_list

    listing = cmd_list(None)["sources"]
    assert list(listing) == [s.name for s in sources()]
    assert listing["digits"] == {"title": "Digits 8×8 (scikit-learn)", "kind": "image", "views": ["binary", "gray8"],
                                 "offline": True}
    assert listing["folder:PATH"]["title"] == "your images (PATH)" and not listing["mnist"]["offline"]
