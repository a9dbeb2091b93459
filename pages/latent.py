"""Latent: the features a model learned — held-out items embedded and projected to 2-D, traversals, a decoded grid."""
import numpy as np
import streamlit as st

from genlab import figures, queries
from genlab.data.folder import NO_LABELS, PREFIX
from genlab.snapshots import to_unit_images
from pages._ui.capabilities import short_title
from pages._ui.datasets import load_dataset
from pages._ui.links import clamp, forget_unless, persistent
from pages._ui.next_steps import next_links
from pages._ui.preamble import open_page
from pages._ui.routing import PAGES
from pages._ui.runs import load_model
from pages._ui.text import plain

SHOWN_SELECTED = 32  # selected items drawn in the panel beside the map
TRAVERSAL_STEPS = 9
TRAVERSAL_SPAN = 2.5  # standard deviations of the codes either side
GRID_SIDE = 12
COORDINATES = 16  # latent coordinates offered as directions
ITEMS_STEP = 50  # the held-out items slider moves in steps of this many


@st.cache_data(show_spinner="Encoding the held-out set…", max_entries=16)
def codes_of(folder: str, stamp: float, name: str, view: str, n: int) -> np.ndarray:
    model, _ = load_model(folder, stamp)
    return queries.encode(model, load_dataset(name, view).test[:n])


@st.cache_data(show_spinner="Projecting to 2-D…", max_entries=16)
def projected(folder: str, stamp: float, name: str, view: str, n: int, method: str, seed: int) -> queries.Projection:
    codes = codes_of(folder, stamp, name, view, n)
    return queries.project(codes[queries.finite_rows(codes)], method, seed)


@st.cache_data(max_entries=8)
def thumbnails(name: str, view: str, n: int) -> list[str]:
    ds = load_dataset(name, view)
    return [figures.text_thumbnail(image[0]) for image in to_unit_images(ds.test[:n], ds.view, ds.levels)]


def no_latent_space(model, ds) -> None:
    st.info(f"{model.title} has no latent space: it gives densities or samples, but no code z for an input.")
    suggestions = queries.latent_families(ds.spec)
    if suggestions:
        st.markdown("Families with one that fit this data — train one of them:\n"
                    + "\n".join(f"- **{title}**" + (" — encodes *and* decodes, so it has traversals and a decoded "
                                                     "grid" if decoder else "") for _, title, decoder in suggestions))
    st.page_link(PAGES["train"], label="Train a model", icon=":material/model_training:")


def selected_items(state) -> list[int]:
    points = state["selection"]["points"] if state else []
    return [int(p["customdata"]) for p in points if "customdata" in p]


def show_items(ds, keep: np.ndarray, chosen: list[int]) -> None:
    items = keep[chosen[:SHOWN_SELECTED]]
    if ds.view == "continuous":
        st.plotly_chart(figures.scatter_points(ds.test[items], bounds=ds.bounds, background=ds.test,
                                               title="Selected points in data space", height=360))
        return
    labels = ds.label_names(ds.labels_test[items]) if ds.labels_test is not None else None
    st.plotly_chart(figures.image_grid(to_unit_images(ds.test[items], ds.view, ds.levels), labels=labels, columns=6,
                                       max_width=360, title=f"{len(chosen)} selected"
                                       + (f", first {SHOWN_SELECTED} shown" if len(chosen) > SHOWN_SELECTED else "")),
                    width="content")


def traversal(model, ds, codes: np.ndarray, keep: np.ndarray) -> None:
    st.subheader("Traversal along a latent direction")
    mean, principal, spread = queries.principal_directions(codes, k=3)
    directions = {f"principal direction {i + 1}": (principal[i], spread[i]) for i in range(len(principal))}
    for j in range(min(codes.shape[1], COORDINATES)):
        unit = np.zeros(codes.shape[1])
        unit[j] = 1.0
        directions[f"latent coordinate z{j + 1}"] = (unit, float(codes[:, j].std()))
    choose, start = st.columns(2)
    forget_unless("latent_direction", directions)
    name = persistent(choose.selectbox, "Direction", "latent_direction", next(iter(directions)),
                      options=list(directions), link="direction")
    direction, scale = directions[name]
    if queries.decodes(model):
        clamp("latent_base", 0, len(keep) - 1, low=-1)
        base = persistent(start.number_input, "Start from item # on the map (−1: the mean code)", "latent_base", 0,
                          min_value=-1, max_value=len(keep) - 1, link="start")
        z0 = mean if base < 0 else codes[base]
        images = queries.traverse(model, z0, direction, scale, steps=TRAVERSAL_STEPS, span=TRAVERSAL_SPAN)
        steps = np.linspace(-TRAVERSAL_SPAN, TRAVERSAL_SPAN, TRAVERSAL_STEPS)
        st.plotly_chart(figures.image_grid(images, labels=[f"{t:+.1f}σ" for t in steps], columns=TRAVERSAL_STEPS,
                                           tile_pixels=72), width="content")
        st.caption("The code is moved along the direction, in steps of the codes' own spread, and decoded: "
                   "what changes from left to right is what this direction encodes.")
    else:
        order = queries.ordered_along(codes, direction, TRAVERSAL_STEPS)
        items = keep[order]
        labels = ds.label_names(ds.labels_test[items]) if ds.labels_test is not None else None
        st.plotly_chart(figures.image_grid(to_unit_images(ds.test[items], ds.view, ds.levels), labels=labels,
                                           columns=TRAVERSAL_STEPS, tile_pixels=72), width="content")
        st.caption(f"{model.title} has no decoder, so the traversal shows real test items from the lowest to the "
                   "highest value along the direction (evenly spaced quantiles): what they have in common from "
                   "left to right is what the direction encodes.")


def decoded_grid(model, codes: np.ndarray) -> None:
    st.subheader("The decoded latent plane")
    if codes.shape[1] != 2:
        st.caption(f"The latent has {codes.shape[1]} dimensions; a decoded grid needs exactly 2. Train this "
                   "family with a 2-D latent to see its whole latent plane as images.")
        return
    images, z1, z2 = queries.latent_grid(model, codes, n=GRID_SIDE)
    st.plotly_chart(figures.image_grid(images, columns=GRID_SIDE, tile_pixels=48), width="content")
    st.caption(f"Codes on a {GRID_SIDE}×{GRID_SIDE} grid, z₁ from {z1[0]:.2f} to {z1[-1]:.2f} left to right and "
               f"z₂ from {z2[0]:.2f} to {z2[-1]:.2f} top to bottom (5%–95% of the test codes), each decoded.")


selection, run = open_page("Latent · features of x", "look into a model of it", "what features it learned",
                           needs="encode")
ds = selection.ds
model = run.model
if not model.can("encode"):
    no_latent_space(model, ds)
    st.stop()

images = ds.view != "continuous"
methods = queries.projections()
count, how = st.columns([1, 2])
most = min(2000, len(ds.test))
if most > ITEMS_STEP:
    clamp("latent_items", min(500, most), most, low=ITEMS_STEP)
    n = persistent(count.slider, "Held-out items", "latent_items", min(500, most), min_value=ITEMS_STEP,
                   max_value=most, step=ITEMS_STEP, link="items")
else:
    n = most
    count.caption(f"All {most} held-out items.")
codes = codes_of(run.folder, run.stamp, ds.name, ds.view, int(n))
forget_unless("latent_method", methods)
if codes.shape[1] == 2:  # the codes are the map: nothing to project
    method = methods[0]
    how.caption("The latent space is 2-D, so the map shows the codes as they are: no projection needed.")
else:
    method = persistent(how.radio, "Projection to 2-D", "latent_method", methods[0], options=methods,
                        horizontal=True, link="projection",
                        help="PCA: a linear view that keeps the most variance. t-SNE and UMAP: non-linear maps that "
                             "keep neighbours together (slower, a few seconds; UMAP's first use on a fresh server "
                             "also compiles itself for about half a minute).")
    if "UMAP" not in methods:
        how.caption("UMAP is not installed here (`pip install umap-learn`).")
keep = np.flatnonzero(queries.finite_rows(codes))
if len(keep) < len(codes):
    st.warning(f"{len(codes) - len(keep)} item(s) got non-finite codes (far from what the model knows); "
               "they are left out.")
codes = codes[keep]
try:
    projection = projected(run.folder, run.stamp, ds.name, ds.view, int(n), method, selection.seed)
except ValueError as exc:
    st.error(f"Could not project the codes: {plain(exc)}")
    st.stop()

labels = ds.label_names(ds.labels_test[keep]) if ds.labels_test is not None else None
hover = [thumbnails(ds.name, ds.view, int(n))[k] for k in keep] if images else \
    [f"x = ({a:.2f}, {b:.2f})" for a, b in ds.test[keep].tolist()]
state = st.plotly_chart(
    figures.latent_scatter(projection.points, labels, hover,
                           title=f"{len(keep):,} held-out items, encoded ({codes.shape[1]}-D)"
                                 + (" — the codes as they are" if codes.shape[1] == 2
                                    else f" and projected by {method}"), axes=projection.axes),
    key="latent_map", on_select="rerun", selection_mode=("points", "box", "lasso"))
colours = "Colours are the labels, which the model never saw." if labels else "There are no labels to colour by."
st.caption(f"{projection.note} {colours} Hover a point to see its item; click, box or lasso points to show them below.")
if labels is None and ds.name.startswith(PREFIX):
    st.info(NO_LABELS)
chosen = selected_items(state)
if chosen:
    show_items(ds, keep, chosen)

if images:
    traversal(model, ds, codes, keep)
    if queries.decodes(model):
        decoded_grid(model, codes)
    else:
        st.caption(f"{model.title} encodes but does not decode, so there is no decoded latent grid; families that "
                   "decode: " + (", ".join(t for _, t, d in queries.latent_families(ds.spec) if d) or "none yet") + ".")

st.divider()
next_links(run.folder, short_title(type(model)), here="latent")
