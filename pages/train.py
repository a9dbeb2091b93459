"""Train: choose a family and its hyper-parameters, start a run, watch d(p_data, p_θ) fall."""
import functools
import math
import time
import uuid

import streamlit as st

import genlab
from genlab import figures
from genlab.evaluate import live_kl_method
from genlab.jobs import CapacityError, JobState, JobView
from genlab.models.base import ModelConfig
from genlab.presets import dataset_kind, measured_note, presets_for
from pages._ui.capabilities import default_family, family_label, short_title
from pages._ui.datasets import dataset_title, points_note
from pages._ui.jobs import (
    KEPT_SECONDS_KEY,
    SECONDS_KEY,
    clock_words,
    current_job,
    finishing_split,
    job_manager,
    start_job,
)
from pages._ui.links import forget_unless, link_on_first_sight, not_in_link, persistent, share
from pages._ui.live import ended_tick, live_fragment
from pages._ui.next_steps import next_links
from pages._ui.preamble import open_page
from pages._ui.routing import PAGES
from pages._ui.text import echoed, plain

STOP_WAIT_SECONDS = 3.0  # the Stop click's rerun waits this long at most for the run to end and save
FULL_SPEED = "full speed"
SPEEDS = {"1 step per redraw": 1, "10 steps per redraw": 10, "100 steps per redraw": 100, FULL_SPEED: None}
CHANGE_KEYS = {"learning_rate": "change_lr", "batch_size": "change_batch"}  # widget keys of the mid-run changes
COLUMNS = 4  # hyper-parameter widgets per row
PANELS_PER_ROW = 3  # training-curve panels per chart: a GAN charts nine signals, unreadable side by side
HALF_WIDTH = 440  # pixels a figure may take in one of two columns of the wide layout
OPTIMISER_FIELDS = {f.name for f in ModelConfig.fields()}
DEFAULTS_CHOICE = "Defaults of the family"
FAMILY_KEY = "train_family"
SECONDS_LINK, MAX_SECONDS = "seconds", 600
KEPT_KEY = "_train_kept"  # each family's hyper-parameters at the last visit: widgets' own keys vanish off the page
KEPT_PRESET_KEY = "_train_kept_preset"  # each family and kind's preset choice at the last visit, for the same reason
KIND_TEXT = {
    "exact": "exact log-likelihood",
    "lower_bound": "log p is a lower bound, so this NLL is an upper bound",
    "estimate": "log p is a Monte-Carlo estimate",
    "unnormalized": "unnormalized density: no likelihood to report",
    None: "this family gives no density",
}
# The common yardstick while training, first one reported wins: (metric key, what it is).
YARDSTICKS = (
    ("valid_kl_nats", "KL(p_data‖p_θ), nats, held out"),
    ("valid_bits_per_dim", "bits per dim, held out"),
    ("valid_nll_nats", "NLL, nats per example, held out"),
)
# The test numbers a finished run may report: (summary key, label, help).
TEST_NUMBERS = (
    ("test_nll_nats", "Test NLL (nats)", "Average −log p_θ(x) over the test split."),
    ("bits_per_dim", "Test bits/dim", "NLL / (D ln 2): the cost of coding one pixel."),
    ("kl_nats", "Test KL (nats)", "KL(p_data‖p_θ) over the test split; 0 is a perfect model."),
    ("mmd", "Test MMD²", "Unbiased kernel MMD² between samples and test data: 0 on average when they "
            "match, so it can be slightly negative by chance; larger as they differ."),
)


def number_step(default: float, log: bool) -> float:
    """A spinner step of the default's own order of magnitude (a tenth of it on linear scales)."""
    if default == 0:
        return 0.1
    return 10.0 ** (math.floor(math.log10(abs(default))) - (0 if log else 1))


def hparam_key(family: str, name: str) -> str:
    return f"hparam:{family}:{name}"


def hparam_widget(family: str, field):
    """The widget of one hyper-parameter of a family to train (the config default at first)."""
    return config_widget(field, hparam_key(family, field.name), field.default)


def config_widget(field, key: str, initial):
    """One widget from a config field's metadata: bounds, help, choices.

    Its value lives under its key in session state (`initial` at first), so a preset can
    fill it before it renders.
    """
    meta = field.metadata
    label = meta.get("label") or field.name.replace("_", " ").capitalize()
    st.session_state.setdefault(key, initial)
    low, high = meta.get("low"), meta.get("high")
    help_text = meta.get("help", "")
    if low is not None and high is not None:
        help_text += f" Between {low:g} and {high:g}."
    if meta.get("choices"):
        return st.selectbox(label, list(meta["choices"]), key=key, help=help_text)
    if isinstance(field.default, bool):
        return st.checkbox(label, key=key, help=help_text)
    if isinstance(field.default, int):
        return st.number_input(label, min_value=None if low is None else int(low),
                               max_value=None if high is None else int(high), step=1, key=key, help=help_text)
    st.session_state[key] = float(st.session_state[key])
    return st.number_input(label, min_value=None if low is None else float(low),
                           max_value=None if high is None else float(high),
                           step=number_step(field.default, meta.get("log", False)), format="%g", key=key,
                           help=help_text)


def shown_fields(cls, view: str) -> list:
    """The config fields the page offers on data in `view`: those that matter there, less the optimiser's for
    closed-form families."""
    return [f for f in cls.config_class.fields() if (cls.trainable or f.name not in OPTIMISER_FIELDS)
            and view in (f.metadata.get("views") or (view,))]


def hparam_widgets(cls, view: str) -> dict:
    """Widgets for every hyper-parameter the family's config declares (optimiser ones only if it trains)."""
    fields = shown_fields(cls, view)
    values = {}
    for row in range(0, len(fields), COLUMNS):
        for column, field in zip(st.columns(COLUMNS), fields[row:row + COLUMNS]):
            with column:
                values[field.name] = hparam_widget(cls.name, field)
    return values


def fill_from_preset(cls, view: str, choice_key: str, offered: dict) -> None:
    """Set every hyper-parameter widget of the family: the preset's values, the config's defaults elsewhere."""
    preset = offered.get(st.session_state[choice_key])
    chosen = preset.hparams if preset else {}
    for field in shown_fields(cls, view):
        st.session_state[hparam_key(cls.name, field.name)] = chosen.get(field.name, field.default)


def preset_picker(cls, kind: str, view: str) -> None:
    """A preset select that fills the hyper-parameter widgets below it, and says why (or what to look for)."""
    offered = {p.name: p for p in presets_for(cls.name, kind)}
    if not offered:
        linked = link_on_first_sight("preset")
        if linked is not None and linked != DEFAULTS_CHOICE:
            st.warning(f"The link's preset {echoed(linked)} is not one of {cls.name}'s on this data ({cls.name} has "
                       "none here); showing its default settings.")
        st.query_params.pop("preset", None)
        return
    key = f"preset:{cls.name}:{kind}"
    linked = link_on_first_sight("preset")  # the page's own links also carry every hyper-parameter, read after this
    if linked is not None and linked in (DEFAULTS_CHOICE, *offered):
        st.session_state[key] = linked
        fill_from_preset(cls, view, key, offered)  # a hand-written link may name only the preset
    elif linked is not None:
        st.warning(f"The link's preset {echoed(linked)} is not one of {cls.name}'s; showing the settings "
                   "without it.")
    kept = st.session_state.setdefault(KEPT_PRESET_KEY, {})
    if key not in st.session_state and kept.get(key) in offered:  # back on the page: the choice the settings came from
        st.session_state[key] = kept[key]
    choice = st.selectbox("Preset", [DEFAULTS_CHOICE, *offered], key=key, on_change=fill_from_preset,
                          args=(cls, view, key, offered),
                          help="Settings known to work (or broken on purpose, to show a failure); "
                               "they fill the hyper-parameters below, which you can still change.")
    share("preset", choice)
    kept[key] = choice
    preset = offered.get(choice)
    if preset is None:
        return
    if preset.broken:
        st.warning(f"{preset.why}  \n**What to look for:** {preset.look_for}", icon=":material/science:")
        return
    st.caption(preset.why)
    if preset.trade_off:
        st.caption(f"**Trade-off:** {preset.trade_off}")
    note = measured_note(preset)
    if note:
        st.caption(f":material/speed: {note[0].upper()}{note[1:]} (`python -m genlab bench --presets`).")


def keep_settings(family: str, hparams: dict) -> None:
    """Remember each family's hyper-parameters, so coming back to Train shows them again."""
    st.session_state.setdefault(KEPT_KEY, {})[family] = hparams


def restore_settings(cls, view: str) -> None:
    """The widgets of a family come back with the values of the last visit (their own keys vanish off the page)."""
    kept = st.session_state.get(KEPT_KEY, {}).get(cls.name, {})
    for field in shown_fields(cls, view):
        if field.name in kept:
            st.session_state.setdefault(hparam_key(cls.name, field.name), kept[field.name])


def follow_link(cls, view: str, every_field: set[str]) -> None:
    """Take the hyper-parameters and the budget of a shared link (each read once), checked by the family's config;
    `every_field` (the hyper-parameters of every family) names what a link may carry that this family does not take."""
    shown = shown_fields(cls, view)
    other = {name: raw for name in sorted(every_field - {f.name for f in shown})
             if (raw := link_on_first_sight(name)) is not None}
    if other:
        asked = ", ".join(f"{name} = {echoed(raw)}" for name, raw in other.items())
        st.warning(f"The link's {asked} {'is not a setting' if len(other) == 1 else 'are not settings'} of "
                   f"{cls.title} on this data: left out, the rest of the link is used.")
    for field in shown:
        raw = link_on_first_sight(field.name)
        if raw is None:
            continue
        try:
            st.session_state[hparam_key(cls.name, field.name)] = getattr(cls.config_class.build(**{field.name: raw}),
                                                                          field.name)
        except ValueError as exc:
            st.warning(f"The link's {field.name} = {echoed(raw)} cannot be used: {plain(exc)}")
    raw = link_on_first_sight(SECONDS_LINK)
    if raw is not None:
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_SECONDS:  # "²".isdigit(), yet int("²") fails
            st.session_state[SECONDS_KEY] = int(raw)
        else:
            st.warning(f"The link's {SECONDS_LINK} = {echoed(raw)} is not a whole number of seconds from 1 "
                       f"to {MAX_SECONDS}.")


def share_settings(hparams: dict, seconds: int, every_field: set[str]) -> None:
    """Put the shown family's hyper-parameters and the budget in the link, and no other family's."""
    for name in every_field - set(hparams):
        st.query_params.pop(name, None)
    for name, value in hparams.items():
        share(name, f"{value:g}" if isinstance(value, float) else str(value))
    share(SECONDS_LINK, str(int(seconds)))


def yardstick(metrics: list[dict]):
    for entry in YARDSTICKS:
        if any(entry[0] in record for record in metrics):
            return entry
    return None


def live_picture(ds, view: JobView) -> None:
    """The job's latest live snapshot, drawn over `ds`, the data it trains on."""
    live = view.live
    if "log_prob_grid" in live:
        top = None  # on toys: the colours of the true density's heatmap on the Data page, to compare by eye
        if ds.is_toy:
            top = float(figures.log_prob_on_grid(ds.log_prob_true, live["bounds"]).max())
        st.plotly_chart(figures.density_heatmap(live["log_prob_grid"], live["bounds"], points=ds.test[:500],
                                                title="log p_θ(x) now, test data in white", top=top))
    elif "points" in live:
        st.plotly_chart(figures.scatter_points(live["points"], bounds=ds.bounds, background=ds.test,
                                               title="Samples x ~ p_θ now, test data in grey"))
    elif "images" in live:
        st.plotly_chart(figures.image_grid(live["images"], columns=8, title="Samples x ~ p_θ now",
                                           max_width=HALF_WIDTH), width="content")
    else:
        st.caption("The first picture appears after the first report.")
    for name, values in live.get("fields", {}).items():  # what the family computes besides p_θ
        st.plotly_chart(figures.field_map(values, ds.bounds, name, points=ds.test,
                                          samples=live.get("points")))
        if name in live.get("field_notes", {}):  # which network it is, where the name alone does not say
            st.caption(live["field_notes"][name])


def latest_numbers(view: JobView, stick) -> None:
    metrics = view.metrics
    if not metrics:
        st.caption("Waiting for the first held-out measurement…")
        return
    last = metrics[-1]
    st.markdown("**Latest (validation split)**")
    st.metric("Objective", figures.format_number(last.get("valid_loss")), help=view.objective)
    if stick:
        st.metric(stick[1][0].upper() + stick[1][1:], figures.format_number(last.get(stick[0])),
                  help=f"KL by {live_kl_method(view.log_prob_kind)}" if stick[0] == "valid_kl_nats" else None)
    st.caption(f"step {last['step']:,} · {last['seconds']:.1f} s")


def final_numbers(view: JobView) -> None:
    summary = view.summary
    st.markdown("**Test split (best validation weights)**")
    reported = [(key, label, help_text) for key, label, help_text in TEST_NUMBERS if summary.get(key) is not None]
    for i, column in enumerate(st.columns(2)):
        for key, label, help_text in reported[i::2]:
            column.metric(label, figures.format_number(summary[key]), help=help_text)
    if summary.get("samples_skipped"):
        st.caption(plain(summary["samples_skipped"]))
    kind = summary.get("log_prob_kind")
    st.caption(f"Density: {KIND_TEXT.get(kind, kind)}"
               + (f" · KL by {summary['kl_method']}" if summary.get("kl_method") else ""))
    train = summary.get("train", {})
    split = finishing_split(view)
    st.caption(f"{summary.get('num_parameters', 0):,} parameters · {summary.get('train_seconds', 0):.1f} s"
               + (f" ({split})" if split else "")
               + f" · {train.get('steps', 0):,} steps, best at step {train.get('best_step', 0):,}")
    if view.state in (JobState.FINISHED, JobState.STOPPED) and view.folder:
        next_links(view.folder, short_title(genlab.families()[view.family]))
    st.page_link(PAGES["compare"], label="Compare with other runs", icon=":material/leaderboard:")


def other_signals(metrics: list[dict]) -> list[str]:
    """train_* metrics a family reports beside its loss (a GAN's players, a VAE's two terms)."""
    keys = sorted({k for record in metrics for k in record if k.startswith("train_") and k != "train_loss"})
    return [k for k in keys if any(record.get(k) != record.get("train_loss") for record in metrics)]


def run_folder_name(family: str, ds) -> str | None:
    """A flat folder name for a run on your images (their name is a path); None lets the manager name it."""
    if "/" not in ds.name and "\\" not in ds.name:
        return None
    return f"{family}-yours-{ds.view}-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"


def apply_changes(job, config, keys: dict) -> None:
    """Send the inputs (learning rate, batch size, ...) that differ from the shown `config` to the running job."""
    changes = {name: st.session_state[key] for name, key in keys.items()
               if st.session_state.get(key) is not None and st.session_state[key] != getattr(config, name)}
    if changes:
        job.change(**changes)


def step_controls(job, state: JobState) -> None:
    """While paused: one step, or N steps, then paused again (the chart shows where they got to);
    and the speed: full, or slow motion with a redraw every few steps."""
    one, many, count, speed = st.columns([1, 1, 1, 3], vertical_alignment="bottom")
    paused = state is JobState.PAUSED
    key = f"steps:{job.id}"
    one.button("Step 1", on_click=job.step, args=(1,), disabled=not paused, width="stretch",
               help="Take one gradient step from the pause, then pause again.")
    count.number_input("N steps", min_value=1, max_value=10_000, value=50, step=10, key=key)
    # N is read when the button is pressed, not when it was drawn
    many.button("Step N", on_click=lambda: job.step(int(st.session_state[key])), disabled=not paused,
                width="stretch", help="Take N gradient steps from the pause, then pause again.")
    speed_key = f"speed:{job.id}"
    speed.select_slider("Speed", options=list(SPEEDS), value=FULL_SPEED, key=speed_key,
                        on_change=lambda: job.set_speed(SPEEDS[st.session_state[speed_key]]),
                        help="Slow motion: the chart and the picture redraw after this many steps, with a "
                             "pause between redraws so you can watch. The pauses and the extra held-out "
                             "checks do not count against the training budget.")


def change_key(job, name: str) -> str:
    return f"{CHANGE_KEYS.get(name, 'change_' + name)}:{job.id}"


def change_controls(job, view: JobView) -> None:
    """The settings the family lets change while it trains (learning rate, batch size, ...): they take
    effect at the next step, each change marked on the chart."""
    config = view.config
    fields = {f.name: f for f in type(config).fields()}
    names = [name for name in view.changeable if name in fields]
    keys = {name: change_key(job, name) for name in names}
    *inputs, apply, _ = st.columns([1] * (len(names) + 1) + [max(1, 5 - len(names))], vertical_alignment="bottom")
    for column, name in zip(inputs, names):
        with column:
            config_widget(fields[name], keys[name], getattr(config, name))
    apply.button("Apply now", on_click=apply_changes, args=(job, config, keys), width="stretch",
                 help="Changes take effect at the next gradient step and are marked on the chart.")


def player_control(job, players: tuple[str, ...]) -> None:
    """For a game of several networks: train them all, or freeze all but one (marked on the chart)."""
    key = f"player:{job.id}"
    st.radio("Who trains", players, key=key, horizontal=True,
             format_func=lambda p: "both players" if p == players[0] else f"the {p} only",
             on_change=lambda: job.change(player=st.session_state[key]),
             help="Freeze one network and watch the other play against it; switch at any moment.")


def ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def stop_now(job) -> None:
    """Stop, and wait for the run to end (it saves what it learned), so the click's own redraw says "stopped"."""
    job.stop()
    job.join(STOP_WAIT_SECONDS)


def live_panel(job_id: str, ticking: bool) -> None:
    """Redrawn every second while the job trains or waits (pages/_ui/live.py): status, controls, charts, numbers."""
    job = job_manager().get(job_id)
    if job is None:
        st.info("That run is no longer on this server (it restarted); its saved copy is on the Compare page.")
        return
    job.touch()
    view = job.view()  # everything below reads this one view, so it agrees with itself
    if ticking and not view.state.active and ended_tick(job_id) == "rerun":
        st.rerun()  # a full rerun stops the clock and frees Start
    st.markdown(f"**{view.title}** on {dataset_title(view.dataset)}{points_note(job.dataset)} — {progress_line(view)}")
    st.progress(min(1.0, view.elapsed / view.seconds) if view.state is not JobState.FINISHED else 1.0)
    run_buttons(job, view)
    if view.state is JobState.QUEUED:
        st.info("Every training slot of this server is taken: your run waits its turn and starts by itself. "
                "Meanwhile the other pages work with the saved runs.", icon=":material/hourglass_top:")
        return
    if view.state is JobState.FAILED:
        st.error(f"Training failed: {view.error}")
        with st.expander("Details for a bug report"):
            st.code(view.summary.get("traceback", ""))
        return
    if view.error:
        st.warning(view.error)
    training_charts(job.dataset, view)
    if view.active and view.trainable:
        st.markdown("**Steer the run**")
        step_controls(job, view.state)
        change_controls(job, view)
        if view.players:
            player_control(job, view.players)


def progress_line(view: JobView) -> str:
    """Where the run stands, in words: fitted, queued (and where), waiting, or its clock (`clock_words`)."""
    if view.summary.get("train", {}).get("status") == "fitted":
        return f"fitted in closed form in {view.elapsed:.1f} s"
    if view.state is JobState.QUEUED:
        return (f"**queued** for {time.time() - view.created:.0f} s, {ordinal(view.queue_position)} of "
                f"{view.queue_length} waiting: it starts by itself when one of the "
                f"{job_manager().max_concurrent} training slots frees up")
    if view.active and not view.metrics:
        return f"**{view.state}**, waiting for the first step (started {time.time() - view.created:.0f} s ago)"
    return clock_words(view)


def run_buttons(job, view: JobView) -> None:
    """Pause, resume, stop, reset and refresh, each enabled only where the run's state allows it."""
    pause, resume, stop, reset, _, refresh = st.columns([1, 1, 1, 1, 1, 1])
    if refresh.button("Refresh", icon=":material/refresh:", width="stretch",
                      help="Redraw the whole page now (it redraws by itself while the run trains or waits)."):
        st.rerun()
    # Callbacks act before the redraw, so the buttons and the status line agree at once.
    pause.button("Pause", on_click=job.pause, disabled=view.state is not JobState.RUNNING, width="stretch")
    resume.button("Resume", on_click=job.resume, disabled=view.state is not JobState.PAUSED, width="stretch")
    stop.button("Stop", on_click=stop_now, args=(job,), disabled=not view.active, width="stretch")
    if view.trainable:
        reset.button("Reset weights", on_click=job.reset, disabled=not view.state.training, width="stretch",
                     help="Back to the initial weights (same seed) with a fresh optimizer; it goes on training "
                          "(or stays paused) with the settings of now. The step count goes on, the best "
                          "weights are tracked afresh, and the chart marks the reset.")


def training_charts(ds, view: JobView) -> None:
    """The objective, the yardstick and other signals over time; the live picture and the numbers beside it."""
    stick = yardstick(view.metrics)
    objective = figures.objective_name(view.objective, "image" if view.view != "continuous" else "point")
    title = f"training objective (not always a divergence)<br><sup>{objective}</sup>"
    keys, titles, units, labels = [["train_loss", "valid_loss"]], [title], [objective], {}
    if stick:
        keys.append([stick[0]])
        titles.append(f"yardstick: {stick[1]}")
        units.append(stick[1].split(", ")[1] if ", " in stick[1] else stick[1])
        if stick[0] == "valid_kl_nats":
            method = live_kl_method(view.log_prob_kind)
            titles[-1] += f"<br><sup>by {method.split(' (')[0]}</sup>"
            labels[stick[0]] = f"{figures.metric_label(stick[0])}, by {method}"
    signals = other_signals(view.metrics)
    for signal in signals:  # each its own panel: a VAE's KL (a few nats) and reconstruction (hundreds) differ
        keys.append([signal])
        titles.append(figures.metric_label(signal))
        units.append("")
    about, zoom = st.columns([3, 1])
    about.caption(f"Training objective of {view.title} (not always a divergence): {view.objective}")
    zoomed = persistent(zoom.toggle, "Zoom on late progress", "train_zoom", True, link="zoom",
                        help="Scale each chart to the points after the first, so a high start does not flatten "
                             "the last seconds of progress.")
    for row in range(0, len(keys), PANELS_PER_ROW):
        part = slice(row, row + PANELS_PER_ROW)
        st.plotly_chart(figures.training_curves(view.metrics, keys[part], titles[part], events=True, units=units[part],
                                                zoom=zoomed, labels=labels))
    marks = figures.training_marks(view.metrics)
    if marks:
        with st.expander(f"The chart's {len(marks)} numbered marks (dotted: a change; dashed: pause, steps, speed)"):
            st.text("\n".join(f"{number:>3}  {at:7.1f} s  {text}" for number, at, text, _ in marks))
    picture, numbers = st.columns(2)
    with picture:
        live_picture(ds, view)
    with numbers:
        if view.summary:
            final_numbers(view)
        else:
            latest_numbers(view, stick)


START_ASKED_KEY = "_train_start_asked"  # Start was pressed; the run that follows starts the job

selection, _ = open_page("Train · min_θ d(p_data, p_θ)", "train on it", live=True)
ds = selection.ds

all_families = genlab.families()
reasons = {name: genlab.fits(name, ds.spec) for name in all_families}
fitting = {name: all_families[name] for name, reason in reasons.items() if reason is None}
if not fitting:
    st.warning(f"No model family fits {dataset_title(selection.name)} in the {ds.view} view yet.")
    st.stop()

every_field = {f.name for c in all_families.values() for f in c.config_class.fields()}  # what a link may set
forget_unless(FAMILY_KEY, fitting)
choose, about = st.columns(2)
family = persistent(choose.selectbox, "Model family M", FAMILY_KEY, default_family(fitting, ds.spec),
                    options=list(fitting), format_func=lambda n: family_label(fitting[n], ds.view), link="family",
                    help="What each family answers: its density (exact, a bound, unnormalised or none), whether "
                         "it draws samples, whether it has a latent space.")
cls = all_families[family]
about.markdown(f"{cls.summary}  \n**Objective d:** {cls.objective}")

job = current_job()
# a run is shown (training or ended) or about to start: the settings fold away, so it is in view
watching = job is not None or st.session_state.get(START_ASKED_KEY, False)
if watching:
    not_in_link("the run on screen, which trains in this session (the link carries its data, family and settings; "
                "once saved, Density, Samples and Latent links open it)")
with st.expander("Hyper-parameters" if cls.trainable else "Settings of the closed-form fit", expanded=not watching,
                 icon=":material/tune:"):
    preset_picker(cls, dataset_kind(ds), ds.view)
    restore_settings(cls, ds.view)
    follow_link(cls, ds.view, every_field)
    hparams = hparam_widgets(cls, ds.view)
keep_settings(family, hparams)
unfit = {name: reason for name, reason in reasons.items() if reason}

budget, start, note = st.columns([1, 1, 2], vertical_alignment="bottom")
st.session_state.setdefault(SECONDS_KEY, st.session_state.get(KEPT_SECONDS_KEY, 20))
seconds = budget.number_input("Seconds of training", min_value=1, max_value=MAX_SECONDS, step=1, key=SECONDS_KEY,
                              help="Wall-clock budget; time spent paused does not count.")
st.session_state[KEPT_SECONDS_KEY] = seconds
share_settings(hparams, seconds, every_field)
note.caption(f"Seed {selection.seed} (sidebar) · on {dataset_title(selection.name)}{points_note(ds)}"
             + ("" if cls.trainable else " · fitted in closed form, the budget only caps it"))
# The press only raises a flag; this run starts the job with the widgets' values of now and then draws the
# button, so one run shows the live panel and a disabled Start. (Starting, then st.rerun(), made two runs back
# to back at the moment the page's clock is first set: under load a page could miss that clock.)
if st.session_state.pop(START_ASKED_KEY, False) and not (job is not None and job.active):
    try:
        model = genlab.create_model(family, ds, **hparams)
        job = start_job(model, ds, seconds=seconds, seed=selection.seed, name=run_folder_name(family, ds))
    except ValueError as exc:
        st.error(f"Those hyper-parameters don't work: {exc}")
    except CapacityError as exc:
        st.error(str(exc))
    else:
        st.session_state["job_id"] = job.id
start.button("Start", type="primary", width="stretch", disabled=job is not None and job.active,
             on_click=functools.partial(st.session_state.__setitem__, START_ASKED_KEY, True),
             help="Stop the current run to start another." if job is not None and job.active else None)

st.divider()
job = current_job()
if job is None:
    st.info("Choose a family, press **Start**, and the held-out divergence is charted here as it trains.")
else:
    ticking = job.state.active
    live_fragment(live_panel, "train", ticking)(job.id, ticking)
if unfit:
    with st.expander(f"{len(unfit)} families don't fit this data"):
        for name, reason in unfit.items():
            title = all_families[name].title
            st.markdown(f"- **{title}** {reason.removeprefix(title + ' ')}")  # the reason names the family first
