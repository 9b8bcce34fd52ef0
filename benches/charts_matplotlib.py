"""The figure benches/charts.rs draws with plotters, drawn with matplotlib:
8 small multiples (each group's 95% band and line over the others in grey,
gaps where a week is withheld, dashed event lines), 1200x700 PNG. Prints the
median time per PNG and per SVG over RUNS drawings.

usage: python3 benches/charts_matplotlib.py FIXTURE.json [RUNS]"""
import io, json, statistics, sys, time, datetime as dt
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt

OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"]
fixture = json.load(open(sys.argv[1]))
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
nan = float("nan")

def day(s): return dt.date.fromisoformat(s)

lines = []
for line in fixture["lines"]:
    pts = line["points"]
    xs = [day(p["start"]) + (day(p["end"]) - day(p["start"])) / 2 for p in pts]
    lines.append((line["label"], xs,
                  [p["value"] if p["value"] is not None else nan for p in pts],
                  [p["low"] if p["low"] is not None else nan for p in pts],
                  [p["high"] if p["high"] is not None else nan for p in pts]))
markers = [day(m["date"]) for m in fixture["markers"]]

def draw(fmt):
    fig, axes = plt.subplots(2, 4, figsize=(12, 7), dpi=100, sharex=True, sharey=True)
    fig.subplots_adjust(left=0.05, right=0.98, top=0.85, bottom=0.1, wspace=0.15, hspace=0.3)
    for i, (ax, (label, xs, ys, lo, hi)) in enumerate(zip(axes.flat, lines)):
        c = OKABE_ITO[i % len(OKABE_ITO)]
        for j, (_, oxs, oys, _, _) in enumerate(lines):
            if j != i:
                ax.plot(oxs, oys, color="#c8c8c8", linewidth=1)
        ax.fill_between(xs, lo, hi, color=c, alpha=0.16, linewidth=0)
        ax.plot(xs, ys, color=c, linewidth=2)
        for m in markers:
            ax.axvline(m, color="#6e6e6e", linestyle=(0, (3, 3)), linewidth=1)
        ax.set_title(f"{label} {ys[-1]:.0f}%" if ys[-1] == ys[-1] else label, loc="left", color=c, fontweight="bold", fontsize=11)
        ax.set_ylim(0, 80)
        ax.grid(axis="y", color="#e1e1e1")
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    fig.text(0.05, 0.95, fixture["title"], fontsize=16, fontweight="bold")
    fig.text(0.05, 0.91, fixture["subtitle"], fontsize=12, color="#5a5a5a")
    fig.text(0.05, 0.02, fixture["footnote"], fontsize=9, color="#6e6e6e")
    out = io.BytesIO()
    fig.savefig(out, format=fmt)
    plt.close(fig)
    return out.getvalue()

for fmt in ("png", "svg"):
    draw(fmt)  # warm up: font cache, imports
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        draw(fmt)
        times.append((time.perf_counter() - t) * 1000)
    q = statistics.quantiles(times, n=4)
    print(f"matplotlib {fmt}: median {statistics.median(times):.1f} ms (IQR {q[0]:.1f}-{q[2]:.1f}, {runs} runs)")
