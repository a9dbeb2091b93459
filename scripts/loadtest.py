"""Load test: many browser sessions train and sample on one GenLab server at once.

    python scripts/loadtest.py --sessions 20 --port 8599 --out loadtest.json
    python scripts/loadtest.py --backend ray --sessions 20   # runs train on the Ray cluster at --ray-address

Starts `streamlit run app.py` headless on a local port with runs written to a temporary
folder, then drives N sessions concurrently with Playwright (one headless Chromium, one
browser context per session). Each session opens Train, picks a quick family on the
default toy data, presses Start (waiting and pressing again when the server refuses),
waits through the queue until the run's test numbers show, then opens Samples and waits
for the samples to render. It records the latency of each action, the errors the pages
show (tracebacks, error boxes) and the timeouts, while a sampler thread follows the server
process's resident memory and thread count. Leaked threads: the server's thread count once
every session has closed and every job has ended, minus the count after one warm-up
session (which loads the libraries and their thread pools once).

Where the time goes: every browser shares the server's cores, so a latency seen by a page
is an upper bound. The server itself logs each script run's duration (GENLAB_TIMING_LOG,
pages/_ui/timing.py): full runs of app.py and runs of the ticking fragments, reported apart.
While a run trains, each page's status line ("running, 1.2 of 3 s") must change at every
redraw: a page whose line stands still for more than 3 redraw intervals was slow, and one
that stands still for --stall seconds has stopped redrawing (it is then nudged by a click).

A script, not a test: nothing here runs in CI. Local only, bounded by --timeout, and the
server is killed at the end. Needs Chromium (GENLAB_CHROMIUM, default /usr/bin/chromium).
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from genlab.health import free_port, wait_healthy  # noqa: E402 (after the path is set)
from pages._ui.live import REFRESH_SECONDS  # noqa: E402

SLOW_REDRAWS = 3  # a status line standing still for more than this many redraw intervals was slow

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ACTIONS = ("page_load", "widget", "start", "trained", "samples")
ACTION_TEXT = {
    "page_load": "open Train (deep link) until its title shows",
    "widget": "one widget change until its rerun ends",
    "start": "press Start until the page says running or queued",
    "trained": "press Start until the run's test numbers show (queue wait included)",
    "samples": "open Samples until the samples are drawn",
}
REFUSALS = ("the most it allows", "already have a job", "The server is busy")
STATE = re.compile(r"^(running|queued|paused|finished|stopped|failed)$")
STATUS_LINE = re.compile(r"— (running|queued|paused)")  # the live panel's line: "<family> on <data> — running, …"
POLL = 0.25  # seconds between looks at a page


# ---- the server --------------------------------------------------------------------
# `streamlit run`, with every thread's stack written to $LOADTEST_STACKS on SIGUSR1
SERVER_BOOT = ("import faulthandler, os, signal, sys; "
               "stacks = open(os.environ['LOADTEST_STACKS'], 'a'); "
               "faulthandler.register(signal.SIGUSR1, file=stacks, all_threads=True); "
               "from streamlit.web.cli import main; sys.argv[0] = 'streamlit'; sys.exit(main())")


def start_server(port: int, folder: Path, env_extra: dict) -> subprocess.Popen:
    env = {**os.environ, "GENLAB_RUNS": str(folder / "runs"), "GENLAB_THREADS": "1",
           "GENLAB_DATA_ROOT": str(folder / "no-data"), "LOADTEST_STACKS": str(folder / "stacks.txt"), **env_extra}
    log = (folder / "streamlit.log").open("w")
    return subprocess.Popen(
        [sys.executable, "-c", SERVER_BOOT, "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )


WAITING_FILES = {"threading.py", "queue.py", "selectors.py", "thread.py", "base_events.py", "events.py"}


def thread_stacks(pid: int, folder: Path) -> dict[str, int]:
    """What the server's threads are doing now: their innermost frame in GenLab's code (else the innermost
    frame), with how many threads are there."""
    path = folder / "stacks.txt"
    os.kill(pid, signal.SIGUSR1)
    time.sleep(1.0)
    text = path.read_text(errors="replace")
    path.write_text("")  # the server appends, so the next dump starts afresh
    where: collections.Counter = collections.Counter()
    for block in re.split(r"^(?:Current thread|Thread) 0x[0-9a-f]+ \(most recent call first\):$", text, flags=re.M)[1:]:
        frames = re.findall(r'File "([^"]+)", line (\d+) in (\S+)', block)
        if not frames:
            continue
        ours = [f for f in frames if f[0].startswith(str(ROOT)) and "/.venv/" not in f[0]]
        busy = [f for f in frames if Path(f[0]).name not in WAITING_FILES]
        file, line, func = (ours or busy or frames)[0]
        where[f"{'/'.join(Path(file).parts[-2:])}:{line} {func} (innermost: {frames[0][2]})"] += 1
    return dict(where.most_common(12))


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def proc_stat(pid: int) -> tuple[int, float]:
    """A process's parent id and the user + system CPU seconds it has used."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler(threading.Thread):
    """Reads /proc/PID/status every `every` seconds: resident memory (now and peak) and threads."""

    def __init__(self, pid: int, every: float = 0.5):
        super().__init__(name="loadtest-sampler", daemon=True)
        self.pid, self.every = pid, every
        self.samples: list[tuple[float, float, int, float]] = []  # (time, rss MB, threads, machine load)
        self.peak_mb = 0.0
        self._browser_cpu: dict[int, float] = {}  # pid -> the most CPU seconds seen (a closed page's stay counted)
        self._halt = threading.Event()

    def read(self) -> tuple[float, float, int]:
        fields = {}
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                key, _, value = line.partition(":")
                fields[key] = value.split()
        rss = int(fields["VmRSS"][0]) / 1024
        self.peak_mb = max(self.peak_mb, rss, int(fields.get("VmHWM", [0])[0]) / 1024)
        return time.time(), rss, int(fields["Threads"][0])

    def threads(self) -> int:
        return self.read()[2]

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far (machine load does not inflate it)."""
        return proc_stat(self.pid)[1]

    def browser_cpu_seconds(self) -> float:
        """CPU time used so far by this script's other descendants: Playwright's driver and Chromium."""
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    parents[int(entry)] = proc_stat(int(entry))
                except (OSError, IndexError, ValueError):
                    pass  # ended meanwhile
        ours = {os.getpid()}
        for pid in sorted(parents):  # children have larger ids than their parents, nearly always
            if parents[pid][0] in ours and pid != self.pid:
                ours.add(pid)
                self._browser_cpu[pid] = max(self._browser_cpu.get(pid, 0.0), parents[pid][1])
        return sum(self._browser_cpu.values())

    def run(self) -> None:
        for tick in itertools.count():
            if self._halt.wait(self.every):
                return
            try:
                self.samples.append((*self.read(), os.getloadavg()[0]))
                if tick % 4 == 0:
                    self.browser_cpu_seconds()
            except (OSError, KeyError):
                return  # the server has gone

    def halt(self) -> None:
        self._halt.set()
        self.join(5)


# ---- one session -------------------------------------------------------------------
@dataclass
class Session:
    index: int
    timings: dict[str, list[float]] = field(default_factory=lambda: {a: [] for a in ACTIONS})
    errors: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    queued: bool = False
    done: bool = False
    stalls: list[str] = field(default_factory=list)  # what a page showed when it stopped updating
    redraw_gaps: list[float] = field(default_factory=list)  # seconds between changes of the status line, training
    last_frame: float = field(default_factory=time.perf_counter)  # the last websocket message from the server

    def heard(self, *_) -> None:
        self.last_frame = time.perf_counter()


async def shown_error(page) -> str | None:
    """A traceback or an error box on the page, if any (refusals of a full server excluded)."""
    exception = page.locator('[data-testid="stException"]')
    if await exception.count():
        return "exception: " + (await exception.first.inner_text())[:300]
    for text in await page.locator('[data-testid="stAlertContentError"]').all_inner_texts():
        if not any(r in text for r in REFUSALS):
            return "error box: " + text[:300]
    return None


async def settle(page, session: Session, timeout: float) -> None:
    """Wait for the rerun a widget change started to end (the running indicator goes)."""
    begun = time.perf_counter()
    await page.wait_for_timeout(300)
    await page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout * 1000)
    session.timings["widget"].append(time.perf_counter() - begun)


async def set_number(page, session: Session, label: str, value: str, timeout: float) -> None:
    box = page.get_by_role("spinbutton", name=label)
    await box.fill(value)
    await box.press("Enter")
    await settle(page, session, timeout)


async def press_start(page, session: Session, timeout: float, retry_after: float) -> float:
    """Press Start until the page shows a state (running or queued); returns when it was first pressed."""
    first_press = time.perf_counter()
    end = first_press + timeout
    state = page.locator('[data-testid="stMain"] strong').filter(has_text=STATE)
    while time.perf_counter() < end:
        # After a refusal the page reruns with an alert above the button: until that rerun ends, the old button
        # is still on the page beside the new one (two "Start"s; a click would be ambiguous).
        await page.locator('[data-testid="stStatusWidget"]').wait_for(state="hidden", timeout=timeout * 1000)
        await page.get_by_role("button", name="Start", exact=True).first.click()
        pressed = time.perf_counter()
        refused_since = None
        while time.perf_counter() < end:
            if await state.count():
                text = (await state.first.inner_text()).strip()
                session.queued = session.queued or text == "queued"
                session.timings["start"].append(time.perf_counter() - pressed)
                return first_press
            alerts = await page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
            refusal = next((a for a in alerts if any(r in a for r in REFUSALS)), None)
            if refusal and refused_since is None:
                refused_since = time.perf_counter()
            elif refusal and time.perf_counter() - refused_since > 1.0:  # it stayed: this press was refused
                session.refusals.append(refusal[:200])
                await page.wait_for_timeout(retry_after * 1000)
                break
            error = await shown_error(page)
            if error:
                raise RuntimeError(error)
            await asyncio.sleep(POLL)
    raise TimeoutError(f"no run started within {timeout:.0f} s of pressing Start")


async def last_words(page, session: Session, shots: Path | None) -> str:
    """What a failed session's page showed (its main text, and a screenshot under `shots`)."""
    try:
        if shots is not None:
            shots.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=shots / f"session-{session.index}.png", timeout=20_000)
        text = await page.locator('[data-testid="stMain"]').inner_text(timeout=20_000)
    except Exception as exc:  # a page too stuck to answer is itself the answer
        return f"(no answer: {type(exc).__name__})"
    return " ".join(text.split())[-300:]


async def status_line(page) -> str | None:
    """The live panel's status line while its job is active ("… — running, 1.2 of 3 s"), else None."""
    lines = await page.locator('[data-testid="stMain"] p').filter(has_text=STATUS_LINE).all_inner_texts()
    return lines[0] if lines else None  # read without waiting: the line goes when the run ends


async def wait_trained(page, session: Session, pressed: float, args) -> None:
    """Wait for the run's test numbers, timing the redraws on the way. While the job trains or waits, its status
    line changes at every redraw (the elapsed seconds, or the seconds queued); the gaps between changes while
    training are recorded. A page whose line (or, with no line, whose websocket) stood still for --stall
    seconds has stopped redrawing: that is recorded, and the page is nudged the way a user would (clicking
    Train in the navigation: a full rerun)."""
    done = page.get_by_text("Test split (best validation weights)")
    session.heard()
    line, changed = None, time.perf_counter()
    while time.perf_counter() - pressed < args.step_timeout:
        if await done.count():
            return
        now, shown = time.perf_counter(), await status_line(page)
        training = shown is not None and "queued" not in shown
        if shown != line:
            if training and line is not None and "queued" not in line:
                session.redraw_gaps.append(now - changed)
            line, changed = shown, now
        still = now - changed if shown is not None else now - session.last_frame  # a queued line counts its wait
        if still > args.stall:
            status = page.locator('[data-testid="stMain"] strong').filter(has_text=STATE)
            shown = (await status.first.inner_text()) if await status.count() else "no state"
            session.stalls.append(f"{shown} at {time.perf_counter() - pressed:.0f} s")
            if args.on_first_stall is not None:
                args.stall_stacks, args.on_first_stall = args.on_first_stall(), None
            await page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Train").click()
            session.heard()
            line, changed = None, time.perf_counter()
        error = await shown_error(page)
        if error:
            raise RuntimeError(error)
        await asyncio.sleep(POLL)
    raise TimeoutError(f"no test numbers within {args.step_timeout:.0f} s of pressing Start")


async def one_session(browser, url: str, session: Session, args) -> None:
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.on("websocket", lambda socket: socket.on("framereceived", session.heard))
    page.set_default_timeout(args.step_timeout * 1000)
    try:
        begun = time.perf_counter()
        await page.goto(f"{url}/train")
        await page.locator("h1").filter(has_text=re.compile("^Train")).first.wait_for()
        session.timings["page_load"].append(time.perf_counter() - begun)

        await page.locator('[data-testid="stMain"] [data-testid="stSelectbox"]').first.click()
        await page.keyboard.type(args.family)  # the list of families is longer than the open menu
        # an option reads "<title> — what it answers" (density, samples, latent)
        await page.get_by_role("option", name=re.compile(rf"^{re.escape(args.family)}( —|$)")).click()
        await settle(page, session, args.step_timeout)
        for label, value in args.widgets:
            await set_number(page, session, label, value, args.step_timeout)
        await set_number(page, session, "Seconds of training", str(args.seconds), args.step_timeout)

        pressed = await press_start(page, session, args.step_timeout, args.retry_after)
        await wait_trained(page, session, pressed, args)
        session.timings["trained"].append(time.perf_counter() - pressed)
        error = await shown_error(page)
        if error:
            raise RuntimeError(error)

        begun = time.perf_counter()
        await page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name="Samples").click()
        await page.locator("h1").filter(has_text=re.compile("^Samples")).first.wait_for()
        await page.get_by_role("button", name=re.compile("^Download as")).wait_for()
        await page.locator('[data-testid="stPlotlyChart"]').first.wait_for()
        session.timings["samples"].append(time.perf_counter() - begun)
        error = await shown_error(page)
        if error:
            raise RuntimeError(error)
        session.done = True
    except Exception as exc:  # every failure of a session is a result to report, not a crash of the test
        session.errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                              f" | page shows: {await last_words(page, session, args.shots)}")
    finally:
        await context.close()


def niced(chromium: str, niceness: int) -> str:
    """Chromium as it is, or behind a launcher that runs it at `niceness`: the browsers, which here share the
    server's cores, then take only what the server and the training leave (as when each visitor's browser
    runs on their own machine). Their latency is then an upper bound twice over; the server's is not.

    `nice` alone is not enough as root: Chromium sets its own processes' priority (renderers back to 0, its
    IO and display threads to -8, above the server), which root may. The launcher therefore also drops
    the capability to raise priority (CAP_SYS_NICE, with `setpriv`), so every Chromium thread stays at
    `niceness`; `browser_niceness` checks what they ran at."""
    if niceness <= 0:
        return chromium
    drop = "setpriv --inh-caps=-sys_nice --bounding-set=-sys_nice " if shutil.which("setpriv") else ""
    launcher = Path(tempfile.mkdtemp(prefix="genlab-chromium-")) / "chromium"
    launcher.write_text(f'#!/bin/sh\nexec {drop}nice -n {int(niceness)} {chromium} "$@"\n')
    launcher.chmod(0o755)
    return str(launcher)


def browser_niceness() -> dict[int, int]:
    """How many threads of Chromium processes run at each niceness now ({niceness: threads})."""
    counts: dict[int, int] = collections.Counter()
    for task in Path("/proc").glob("[0-9]*/task/[0-9]*"):
        try:
            if (task.parent.parent / "comm").read_text().strip() == "chromium":
                counts[int((task / "stat").read_text().rsplit(")", 1)[1].split()[16])] += 1  # field 19: nice
        except (OSError, IndexError, ValueError):
            continue  # the thread ended while it was read
    return dict(sorted(counts.items()))


async def drive(url: str, sessions: list[Session], args) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=niced(args.chromium, args.browser_nice), args=CHROMIUM_ARGS)
        try:
            rng = random.Random(0)

            async def delayed(session):
                await asyncio.sleep(rng.uniform(0, args.ramp))
                await one_session(browser, url, session, args)

            async def look_at_niceness():
                await asyncio.sleep(args.ramp + 20)  # every session's page is open by then
                args.niceness_seen = browser_niceness()

            watcher = asyncio.ensure_future(look_at_niceness())
            await asyncio.gather(*(delayed(s) for s in sessions))
            watcher.cancel()
        finally:
            await browser.close()


# ---- the summary -------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q / 100 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_table(sessions: list[Session]) -> dict:
    table = {}
    for action in ACTIONS:
        values = [v for s in sessions for v in s.timings[action]]
        if values:
            table[action] = {"count": len(values), **{f"p{q}": round(percentile(values, q), 2) for q in (50, 90, 99)},
                             "max": round(max(values), 2)}
    return table


def spread(values: list[float]) -> dict:
    """Count, p50, p95 and max of some seconds (zeros when there are none)."""
    if not values:
        return {"count": 0, "p50": 0.0, "p95": 0.0, "max": 0.0}
    return {"count": len(values), "p50": round(percentile(values, 50), 3), "p95": round(percentile(values, 95), 3),
            "max": round(max(values), 3)}


def server_runs(log: Path, begun: float, ended: float) -> dict:
    """The server's own script runs that ended during the load (its GENLAB_TIMING_LOG), by kind: full runs of
    app.py and fragment runs; runs Streamlit ended early (a newer rerun, st.rerun, st.stop) counted apart."""
    runs = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    runs = [r for r in runs if begun <= r["ended"] <= ended]
    table = {}
    for kind in ("full", "fragment"):
        ours = [r for r in runs if r["kind"] == kind]
        table[kind] = {**spread([r["seconds"] for r in ours if r["outcome"] == "ok"]),
                       "ended_early": sum(r["outcome"] != "ok" for r in ours)}
    return table


def redraws(sessions: list[Session]) -> dict:
    """Gaps between redraws of training pages, and the pages that had a gap over SLOW_REDRAWS intervals."""
    slow = SLOW_REDRAWS * REFRESH_SECONDS
    return {**spread([g for s in sessions for g in s.redraw_gaps]), "interval": REFRESH_SECONDS,
            "slow_seconds": slow, "slow_pages": sum(any(g > slow for g in s.redraw_gaps) for s in sessions)}


def wait_for_threads(sampler: Sampler, baseline: int, settle_seconds: float) -> int:
    """The server's thread count once it is back to `baseline`, or after `settle_seconds`."""
    end = time.time() + settle_seconds
    count = sampler.threads()
    while time.time() < end and count > baseline:
        time.sleep(2)
        count = sampler.threads()
    return count


def server_tracebacks(log: Path) -> list[str]:
    text = log.read_text(errors="replace") if log.exists() else ""
    blocks = text.split("Traceback (most recent call last):")[1:]
    return [block.strip().splitlines()[-1][:300] for block in blocks if block.strip()]


def print_summary(result: dict) -> None:
    print(f"\nGenLab load test: {result['sessions']} concurrent sessions, {result['backend']} backend, "
          f"family {result['family']!r}, {result['seconds']} s budget, GENLAB_MAX_JOBS={result['max_jobs']}, "
          f"{result['cpus']} CPU cores, browsers at niceness {result['browser_nice']}")
    if result.get("browser_threads_by_niceness"):
        seen = ", ".join(f"{n} at {nice}" for nice, n in result["browser_threads_by_niceness"].items())
        print(f"Chromium's threads, seen once every page was open, by niceness: {seen}")
    print(f"machine 1-minute load average during the load: {result['load_during']:.1f} on {result['cpus']} cores"
          f"; the server used {result['server_cpu_seconds']:.0f} CPU s "
          f"({result['server_cpu_seconds'] / result['sessions']:.1f} per session), the browser "
          f"{result['browser_cpu_seconds']:.0f} CPU s on the same cores")
    print(f"finished {result['completed']}/{result['sessions']} sessions in {result['wall_seconds']:.0f} s; "
          f"{result['queued_sessions']} waited in the queue; {result['refusals']} presses refused (then retried)")
    print(f"\n{'action':<10} {'n':>4} {'p50 s':>7} {'p90 s':>7} {'p99 s':>7} {'max s':>7}  what")
    for action, row in result["latency"].items():
        print(f"{action:<10} {row['count']:>4} {row['p50']:>7.2f} {row['p90']:>7.2f} {row['p99']:>7.2f} "
              f"{row['max']:>7.2f}  {ACTION_TEXT[action]}")
    print(f"runs saved: {result['runs_saved']}")
    print(f"\n{'server runs':<12} {'n':>5} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'ended early':>12}  "
          "(measured inside the server, browsers excluded)")
    for kind, row in result["server_runs"].items():
        print(f"{kind:<12} {row['count']:>5} {row['p50']:>7.2f} {row['p95']:>7.2f} {row['max']:>7.2f} "
              f"{row['ended_early']:>12}")
    gaps = result["redraws"]
    print(f"redraws of training pages (every {gaps['interval']:g} s asked): {gaps['count']} seen, gap p50 "
          f"{gaps['p50']:.2f} s, p95 {gaps['p95']:.2f} s, max {gaps['max']:.1f} s; pages with a gap over "
          f"{gaps['slow_seconds']:g} s: {gaps['slow_pages']}")
    print(f"pages that stopped redrawing (status line still for {result['stall_seconds']:.0f} s, training or "
          f"queued; nudged by clicking Train): {result['stalled_sessions']}"
          + "".join(f"\n  - {e}" for e in result["stalls"][:5]))
    print(f"\nerrors: {len(result['errors'])}" + "".join(f"\n  - {e}" for e in result["errors"][:5]))
    print(f"server tracebacks in its log: {len(result['server_tracebacks'])}"
          + "".join(f"\n  - {e}" for e in result["server_tracebacks"][:5]))
    memory = result["memory_mb"]
    print(f"server memory: start {memory['start']:.0f} MB, after warm-up {memory['after_warmup']:.0f} MB, "
          f"peak {memory['peak']:.0f} MB, end {memory['end']:.0f} MB")
    threads = result["threads"]
    print(f"server threads: start {threads['start']}, after warm-up {threads['before']}, peak {threads['peak']}, "
          f"after all sessions closed {threads['after']} -> leaked {threads['leaked']}")
    for title, stacks in (("at the first stall", result["stacks_at_first_stall"]),
                          ("after all sessions closed", result["stacks_after"])):
        if stacks:
            print(f"server threads {title} (where, how many):" + "".join(f"\n  {n:>3}  {w}" for w, n in stacks.items()))


# ---- main --------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20, help="concurrent browser sessions")
    parser.add_argument("--port", type=int, default=0, help="server port (0: a free one)")
    parser.add_argument("--out", type=Path, default=None, help="write the result as JSON here")
    parser.add_argument("--family", default="Gaussian mixture", help="the family's title in the Train page's list")
    parser.add_argument("--seconds", type=int, default=3, help="training budget of each run")
    parser.add_argument("--max-jobs", type=int, default=int(os.environ.get("GENLAB_MAX_JOBS", 2)),
                        help="GENLAB_MAX_JOBS for the server (jobs training at once)")
    parser.add_argument("--ramp", type=float, default=5.0, help="sessions start at random within this many seconds")
    parser.add_argument("--retry-after", type=float, default=5.0, help="seconds before pressing Start again if refused")
    parser.add_argument("--step-timeout", type=float, default=480.0, help="seconds one step of a session may take")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds the whole load may take")
    parser.add_argument("--settle", type=float, default=120.0,
                        help="seconds to wait, after the sessions close, for the server's threads to end")
    parser.add_argument("--stall", type=float, default=60.0,
                        help="seconds a live page's status line (training or queued) may stand still before it "
                             "counts as stopped and is nudged")
    parser.add_argument("--backend", choices=("local", "ray"), default="local",
                        help="where runs train: threads of the server, or the Ray cluster at --ray-address")
    parser.add_argument("--ray-address", default=os.environ.get("GENLAB_RAY_ADDRESS") or "auto",
                        help="GENLAB_RAY_ADDRESS for the server with --backend ray (a running cluster)")
    parser.add_argument("--browser-nice", type=int, default=0,
                        help="run the browsers at this niceness (0-19): they share the server's cores here, while "
                             "in a workshop each runs on its visitor's machine")
    parser.add_argument("--shots", type=Path, default=None, help="save a screenshot of each failed session here")
    parser.add_argument("--chromium", default=os.environ.get("GENLAB_CHROMIUM", "/usr/bin/chromium"))
    args = parser.parse_args(argv)
    args.widgets = [("Num components", "4")] if args.family == "Gaussian mixture" else []
    args.stall_stacks, args.on_first_stall = None, None
    if not os.path.exists(args.chromium):
        parser.error(f"no Chromium at {args.chromium}; install it (apt-get install -y chromium) or set --chromium")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="genlab-load-"))
    port = args.port or free_port()
    url = f"http://127.0.0.1:{port}"
    environment = {"GENLAB_MAX_JOBS": str(args.max_jobs), "GENLAB_TIMING_LOG": str(folder / "timing.jsonl")}
    if args.backend == "ray":
        environment["GENLAB_RAY_ADDRESS"] = args.ray_address
    process = start_server(port, folder, environment)
    sampler = None
    try:
        wait_healthy(url, process)
        sampler = Sampler(process.pid)
        _, start_mb, start_threads = sampler.read()
        sampler.start()
        warmup = Session(-1)  # loads torch, the pages and the data once, so leaks are measured after it
        asyncio.run(asyncio.wait_for(drive(url, [warmup], args), args.timeout))
        if warmup.errors:
            raise RuntimeError(f"the warm-up session failed: {warmup.errors[0]}")
        time.sleep(10)  # the warm-up session is released
        before = sampler.threads()
        after_warmup_mb = sampler.read()[1]
        sessions = [Session(i) for i in range(args.sessions)]
        args.stall_stacks, args.on_first_stall = None, lambda: thread_stacks(process.pid, folder)
        begun, cpu_begun, load_begun = time.time(), sampler.cpu_seconds(), os.getloadavg()
        browser_begun = sampler.browser_cpu_seconds()
        try:
            asyncio.run(asyncio.wait_for(drive(url, sessions, args), args.timeout))
        except asyncio.TimeoutError:
            for s in sessions:
                if not s.done and not s.errors:
                    s.errors.append(f"TimeoutError: the whole load passed --timeout {args.timeout:.0f} s")
        wall, cpu = time.time() - begun, sampler.cpu_seconds() - cpu_begun
        browser_cpu = sampler.browser_cpu_seconds() - browser_begun
        after = wait_for_threads(sampler, before, args.settle)  # sessions close and are released, jobs end
        stacks_after = thread_stacks(process.pid, folder)
        sampler.halt()
        end_mb = sampler.read()[1]
        result = {
            "stall_seconds": args.stall, "browser_nice": args.browser_nice,
            "browser_threads_by_niceness": getattr(args, "niceness_seen", None), "sessions": args.sessions,
            "backend": args.backend, "family": args.family,
            "seconds": args.seconds,
            "max_jobs": args.max_jobs,
            "cpus": os.cpu_count(), "wall_seconds": round(wall, 1), "server_cpu_seconds": round(cpu, 1),
            "browser_cpu_seconds": round(browser_cpu, 1),
            "load_average": {"start": load_begun, "end": os.getloadavg()},
            "completed": sum(s.done for s in sessions),
            "queued_sessions": sum(s.queued for s in sessions),
            "refusals": sum(len(s.refusals) for s in sessions),
            "refusal_messages": sorted({r for s in sessions for r in s.refusals})[:5],
            "stalled_sessions": sum(bool(s.stalls) for s in sessions),
            "stalls": [f"session {s.index}: {', '.join(s.stalls)}" for s in sessions if s.stalls],
            "latency": latency_table(sessions),
            "server_runs": server_runs(folder / "timing.jsonl", begun, begun + wall),
            "redraws": redraws(sessions),
            "errors": [f"session {s.index}: {e}" for s in sessions for e in s.errors],
            "server_tracebacks": server_tracebacks(folder / "streamlit.log"),
            "runs_saved": sum(1 for run in (folder / "runs").glob("workspaces/*/runs/*/summary.json")),
            "memory_mb": {"start": round(start_mb, 1), "after_warmup": round(after_warmup_mb, 1),
                          "peak": round(sampler.peak_mb, 1), "end": round(end_mb, 1)},
            "threads": {"start": start_threads, "before": before,
                        "peak": max((n for _, _, n, _ in sampler.samples), default=before),
                        "after": after, "leaked": after - before},
            "warmup": latency_table([warmup]),
            "stacks_at_first_stall": args.stall_stacks,
            "stacks_after": stacks_after,
            "timeline": {"columns": ["seconds", "rss_mb", "threads", "load_1min"],
                         "rows": [(round(t - begun, 1), round(mb, 1), n, load)
                                  for t, mb, n, load in sampler.samples[::4]]},
            "load_during": round(statistics.mean(load for t, _, _, load in sampler.samples
                                                 if begun <= t <= begun + wall) if wall > 0 else 0.0, 1),
        }
    finally:
        if sampler is not None and sampler.is_alive():
            sampler.halt()
        stop_server(process)
    print_summary(result)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
        print(f"\nwrote {args.out}")
    if result["errors"]:
        print(f"kept the server's log and runs in {folder}")
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if not result["errors"] and not result["stalled_sessions"] else 1


if __name__ == "__main__":
    sys.exit(main())
