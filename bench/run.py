"""tapwatch benchmarks: one command, ``sudo python bench/run.py``, writes bench/RESULTS.md.

Sections (``--only a,b``): capture, offline, ui, memory, startup.
``--quick`` is a short smoke run (fewer packets and repeats) that checks the
benchmark itself works; its figures are indicative only.

Every figure is shown with a reference measured in the same run (a bare Python
read loop, tcpdump, an idle UI, a plain list, ``python -c pass``). Everything
that creates a device or sends a packet does so in a private network namespace
made for it and deleted afterwards; the only traffic is UDP into the namespace's
own tun subnet (10.77.0.0/24).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common

SECTIONS = ("capture", "offline", "ui", "memory", "startup")
NEEDS_ROOT = {"capture"}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="short smoke run")
    p.add_argument(
        "--only",
        default=",".join(SECTIONS),
        help=f"comma-separated sections ({', '.join(SECTIONS)})",
    )
    p.add_argument("--out", default=str(common.BENCH / "RESULTS.md"), help="markdown report")
    p.add_argument("--json", default=str(common.BENCH / "results.json"), help="raw figures (JSON)")
    p.add_argument(
        "--packets", type=int, help="datagrams per capture trial (default 200000, quick 50000)"
    )
    p.add_argument(
        "--pin",
        action="store_true",
        help="capture: generator on CPU 0, readers "
        "and tapwatch on the others (steadier figures; the default lets the "
        "scheduler place them, as on a real machine)",
    )
    a = p.parse_args(argv)
    only = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    root = os.geteuid() == 0
    quick = a.quick
    started = time.monotonic()
    results: dict = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "quick": quick,
        "machine": common.machine(),
        "sections": {},
    }
    md: dict[str, list[str]] = {}
    with common.tempdir() as tmp:
        loadgen = common.build_loadgen(tmp) if root else None
        for section in only:
            t0 = time.monotonic()
            print(f"== {section}", file=sys.stderr, flush=True)
            if section in NEEDS_ROOT and not root:
                md[section] = ["Skipped: needs root (it creates a tun in a private namespace)."]
                continue
            try:
                load0 = os.getloadavg()[0]
                res, lines = _run_section(section, quick, loadgen, a.packets, a.pin)
                res["loadavg"] = [round(load0, 2), round(os.getloadavg()[0], 2)]
            except Exception as e:  # report the failure and go on with the other sections
                traceback.print_exc()
                res, lines = {"error": repr(e)}, [f"Failed: `{e!r}`"]
            res["seconds"] = round(time.monotonic() - t0, 1)
            results["sections"][section] = res
            md[section] = lines
            print(f"   {section}: {res['seconds']} s", file=sys.stderr, flush=True)
    results["seconds"] = round(time.monotonic() - started, 1)
    Path(a.json).write_text(json.dumps(results, indent=1, default=str))
    Path(a.out).write_text(_report(results, md))
    print(f"wrote {a.out} ({results['seconds']} s)", file=sys.stderr)
    return 0


def _run_section(
    section: str, quick: bool, loadgen: str | None, packets: int | None, pin: bool
) -> tuple[dict, list[str]]:
    if section == "capture":
        from bench import capture_bench as cb

        n = packets or (50_000 if quick else 200_000)
        rates = [100_000, 0] if quick else [50_000, 100_000, 200_000, 0]
        assert loadgen is not None
        readers = cb.READERS if quick else cb.READERS + cb.ALT_READERS + cb.ANY_READERS
        raw = cb.run(
            loadgen,
            packets=n,
            rates=rates,
            readers=readers,
            repeat=1 if quick else 2,
            repeat_unpaced=1 if quick else 3,
            pin=pin,
        )
        rows = cb.summarize(raw)
        lines = cb.markdown(rows, n)
        lines.append(
            "Generator and readers "
            + (
                "pinned: generator on CPU 0, readers on the others."
                if pin
                else "placed by the scheduler (not pinned)."
            )
        )
        return {"packets": n, "pinned": pin, "rows": rows, "trials": raw}, lines
    if section == "offline":
        from bench import offline_bench as ob

        res = ob.run(packets=20_000 if quick else 200_000, repeat=1 if quick else 5)
        return res, ob.markdown(res)
    if section == "ui":
        from bench import ui_bench as ub

        res = ub.run(
            presses=20 if quick else 60, sizes=[1_000, 100_000, 500_000], reps=10 if quick else 100
        )
        return res, ub.markdown(res)
    if section == "memory":
        from bench import memory_bench as mb

        res = mb.run(packets=100_000 if quick else 1_000_000)
        return res, mb.markdown(res)
    if section == "startup":
        from bench import startup_bench as sb

        res = sb.run(repeat=2 if quick else 5, loadgen=loadgen)
        return res, sb.markdown(res)
    raise ValueError(section)


# ----- the report -------------------------------------------------------------------------------

TITLES = {
    "capture": "1. Capture keep-rate (tun flooded with UDP)",
    "offline": "2. Offline decode and print (`-r`)",
    "ui": "3. UI under load",
    "memory": "4. Memory per packet in the ring",
    "startup": "5. Start-up",
}


def _targets(results: dict) -> list[str]:
    """Each target with the figure measured today and whether it is met."""
    s = results["sections"]
    rows: list[tuple[str, str, bool | None]] = []

    def row(rate: int, reader: str) -> dict | None:
        for r in s.get("capture", {}).get("rows", []):
            if r["rate"] == rate and r["reader"] == reader and "kept" in r:
                return r
        return None

    if "capture" in s and "rows" in s["capture"]:
        for reader, goal in (("headless", 99.5), ("tui", 99.0)):
            r = row(100_000, reader)
            if r:
                rows.append(
                    (
                        f"paced 100k pps, {reader}: >= {goal}% kept",
                        f"{r['kept_pct']:.2f}%",
                        r["kept_pct"] >= goal,
                    )
                )
        ref = row(0, "py-ref")
        for reader in ("headless", "tui"):
            r = row(0, reader)
            if r and ref and "vs_pyref" in r:
                ceiling = 100 / ref["kept_pct"] if ref["kept_pct"] else float("inf")
                rows.append(
                    (
                        f"unpaced flood, {reader}: >= 1.3x the bare Python loop",
                        f"{r['vs_pyref']:.2f}x ({r['kept_pct']:.1f}% vs "
                        f"{ref['kept_pct']:.1f}%; 100% would be {ceiling:.2f}x)",
                        r["vs_pyref"] >= 1.3,
                    )
                )
    off = s.get("offline", {})
    for f in off.get("files", []):
        ratio = f.get("tapwatch_ratio")
        if ratio is None and f.get("tapwatch") and f.get("tcpdump"):
            ratio = f["tapwatch"] / f["tcpdump"]
        if ratio is not None:
            rows.append(
                (
                    f"offline decode+print <= 2.5x tcpdump ({f['linktype']})",
                    f"{ratio:.2f}x",
                    ratio <= 2.5,
                )
            )
    ui = s.get("ui", {})
    if "latency" in ui:
        m = ui["latency"]["median_ms"]
        rows.append(("UI key -> screen <= 100 ms median", f"{m:.1f} ms", m <= 100))
    if ui.get("frames"):
        fr = ui["frames"]
        growth = fr[-1]["frame_ms"] / fr[0]["frame_ms"]
        rows.append(
            (
                f"list frame cost independent of ring size ({fr[0]['ring']:,} -> "
                f"{fr[-1]['ring']:,})",
                f"{growth:.2f}x",
                growth <= 1.5,
            )
        )
    mem = s.get("memory", {})
    for m in mem.get("layouts", []):
        if m["kind"] == "ring":
            rows.append(
                ("<= 300 bytes overhead per packet", f"{m['overhead']:.0f} B", m["overhead"] <= 300)
            )
    st = s.get("startup", {})
    help_t = st.get("help_script") or st.get("help_module")
    if help_t:
        rows.append(("`--help` <= 0.3 s", f"{help_t * 1e3:.0f} ms", help_t <= 0.3))
    out = ["| target | today | met |", "|---|---:|:---:|"]
    for name, value, ok in rows:
        out.append(f"| {name} | {value} | {'yes' if ok else '**no**'} |")
    return out


def _report(results: dict, md: dict[str, list[str]]) -> str:
    m = results["machine"]
    lines = [
        "# tapwatch benchmark results",
        "",
        f"Generated by `python bench/run.py{' --quick' if results['quick'] else ''}` on "
        f"{results['date']} in {results['seconds']:.0f} s. Raw figures: `bench/results.json`."
        + (" **Quick run: indicative figures only.**" if results["quick"] else ""),
        "",
        "## Machine",
        "",
    ]
    for k, v in m.items():
        lines.append(f"- {k}: {v}")
    lines += [
        "",
        "Each section ends with the 1-minute load average before and after it: well "
        "above the benchmark's own load means other work on the machine disturbed it.",
        "",
        "## Targets",
        "",
        *_targets(results),
    ]
    for section, body in md.items():
        lines += ["", f"## {TITLES[section]}", "", *body]
        load = results["sections"].get(section, {}).get("loadavg")
        if load:
            lines += ["", f"(Load average before/after: {load[0]} / {load[1]}.)"]
    notes = common.BENCH / "NOTES.md"
    if notes.exists():
        lines += ["", notes.read_text().rstrip()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
