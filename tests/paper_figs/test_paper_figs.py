"""paper_figs: the whole pipeline at the smoke scale (the issue asks CI to run it), and its pieces against
hand-made references."""

from __future__ import annotations

import itertools
import json

import jax
import numpy as np
import pytest

import nets
from paper_figs import __main__ as cli
from paper_figs import study
from paper_figs.cache import MetricCache
from paper_figs.plots import _pareto
from paper_figs.report import markdown_table, read_tables
from paper_figs.scales import SCALES, log_widths

RUN_SCALE = "smoke"


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paper_figs")
    out = folder / "figures"
    assert cli.main(["--scale", RUN_SCALE, "--work", str(folder / "work"), "--out", str(out)]) == 0
    return folder, out


def test_every_figure_has_its_png_caption_and_parsable_tables(smoke_run):
    _, out = smoke_run
    for stem in ("grid_heatmaps", "search_curves", "parallel_bo", "resources_pareto"):
        assert (out / f"{stem}.png").stat().st_size > 1000
        text = (out / f"{stem}.md").read_text()
        assert f"Scale `{RUN_SCALE}`" in text and "CPU cores" in text and "seed" in text
        assert read_tables(out / f"{stem}.md"), stem
    for stem in ("hgcal_profiles", "hgcal_resolution", "hgcal_first_interaction", "hgcal_features"):
        assert (out / f"{stem}.png").exists()
    index = (out / "index.md").read_text()
    assert f"python -m paper_figs --scale {RUN_SCALE}" in index and "hgcal_profiles.png" in index


def test_grid_table_lists_every_point_best_first_and_matches_the_summary(smoke_run):
    _, out = smoke_run
    summary = json.loads((out / "summary.json").read_text())
    scale = SCALES[RUN_SCALE]
    _, every = read_tables(out / "grid_heatmaps.md")
    assert len(every) == scale.grid_size == summary["grid"]["size"]
    values = [float(r["value (mean)"]) for r in every]
    assert values == sorted(values)
    first = every[0]
    assert [int(first[f"layer {i}"]) for i in (1, 2, 3)] == summary["grid"]["best"]
    assert {(int(r["layer 1"]), int(r["layer 2"]), int(r["layer 3"])) for r in every} == \
        set(itertools.product(*scale.grid_widths()))
    # the grid was trained once per seed; a second run looks everything up
    assert summary["grid"]["trainings_run"] == scale.grid_size * len(scale.train_seeds)


def test_search_and_parallel_tables_have_a_row_per_method_and_q(smoke_run):
    _, out = smoke_run
    reach, best = read_tables(out / "search_curves.md")
    assert [r["method"] for r in reach] == ["GP BO (log-EI)", "random", "CMA-ES", "grid (bo grid order)"]
    assert all(len(r["trainings to reach (per seed)"].split(",")) == SCALES[RUN_SCALE].search_seeds
               for r in reach[:3])
    [parallel] = read_tables(out / "parallel_bo.md")
    assert [int(r["q"]) for r in parallel] == list(SCALES[RUN_SCALE].parallel_qs)
    [ladder] = read_tables(out / "resources_pareto.md")
    scale = SCALES[RUN_SCALE]
    assert [(r["budget kind"], int(r["budget"])) for r in ladder] == \
        [("neurons", b) for b in scale.neuron_budgets] + [("dsp", b) for b in scale.dsp_budgets]
    for row in ladder:  # the constraint held
        assert int(row["neurons" if row["budget kind"] == "neurons" else "DSP"]) <= int(row["budget"])


def test_rerun_trains_nothing(smoke_run):
    folder, _ = smoke_run
    out = folder / "again"
    assert cli.main(["--scale", RUN_SCALE, "--work", str(folder / "work"), "--out", str(out),
                     "--parts", "1,2"]) == 0
    assert json.loads((out / "summary.json").read_text())["grid"]["trainings_run"] == 0


def test_log_widths_closed_form():
    assert log_widths(256, 7) == (1, 3, 6, 16, 40, 102, 256)
    assert log_widths(2000, 7) == tuple(round(2000 ** (k / 6)) for k in range(7))
    assert log_widths(2000, 6) == tuple(round(2000 ** (k / 5)) for k in range(6))
    assert log_widths(16, 5) == (1, 2, 4, 8, 16)
    assert SCALES["cpu"].grid_size == SCALES["paper"].grid_size == 294


def _toy_data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    y = (x[:, 0] + 0.3 * rng.normal(size=n) > 0).astype(np.float32)
    return nets.Data.split(x, y, seed=seed)


def test_cache_trains_each_topology_once_and_refuses_other_options(tmp_path):
    data = _toy_data()
    cache = MetricCache(tmp_path, data, {"epochs": 1, "batch_size": 64, "lr": 1e-2})
    first = cache.values([(2, 2), (3, 1)], seeds=(0,))
    assert cache.trained == 2 and first.shape == (2, 1)
    again = MetricCache(tmp_path, data, {"epochs": 1, "batch_size": 64, "lr": 1e-2})
    both = again.values([(3, 1), (2, 2)], seeds=(0, 1))
    assert again.trained == 2  # only seed 1 was missing
    np.testing.assert_allclose(both[:, 0], first[::-1, 0])
    other = MetricCache(tmp_path, data, {"epochs": 2, "batch_size": 64, "lr": 1e-2})
    assert other.path != cache.path and other.entries == {}
    cache.path.write_text(json.dumps({"key": {"data": "x"}, "entries": {}}))
    with pytest.raises(ValueError, match="delete it to retrain"):
        MetricCache(tmp_path, data, {"epochs": 1, "batch_size": 64, "lr": 1e-2})


def _bowl(widths):
    """A synthetic landscape on the grid: minimum at index (4, 2, 3)."""
    def lookup(topologies):
        out = []
        for t in topologies:
            index = np.array([w.index(v) for w, v in zip(widths, t)])
            out.append(float(np.sum((index - np.array([4, 2, 3])) ** 2)))
        return np.array(out)
    return lookup


def test_searches_count_distinct_trainings_and_gp_beats_random_on_a_bowl():
    widths = SCALES["cpu"].grid_widths()
    lookup = _bowl(widths)
    gp = study.run_search("gp", widths, lookup, budget=25, seed=0, options={"n_initial": 5})
    assert len(set(gp.topologies)) == len(gp.topologies) == 25
    assert study.trainings_to_reach(gp, 0.0) is not None
    random_hits = [study.trainings_to_reach(study.run_search("random", widths, lookup, 25, seed), 0.0)
                   for seed in range(3)]
    # random search finds one of 294 points within 25 draws with probability ~8 %
    assert sum(h is not None for h in random_hits) <= 1
    # a repeated proposal costs nothing: random search over 18 points asks more than 18 times
    tiny = SCALES["tiny"].grid_widths()
    full = study.run_search("random", tiny, _bowl(tiny), budget=18, seed=0)
    assert len(full.topologies) == 18 and full.asks > 18
    curve = full.best_so_far(20)
    assert curve.shape == (20,) and np.all(np.diff(curve) <= 0)


def test_grid_order_visits_every_point_once():
    scale = SCALES["tiny"]
    widths = scale.grid_widths()
    grid = study.GridResult(widths, np.zeros((3, 3, 2)), np.zeros((3, 3, 2, 1)), (1, 1, 1),
                            0.0, 0.0, 0.0, 0.0)
    run = study.grid_order_run(grid, _bowl(widths))
    assert sorted(run.topologies) == sorted(itertools.product(*widths))


def test_parallel_batches_are_counted():
    widths = SCALES["tiny"].grid_widths()
    run = study.run_search("gp", widths, _bowl(widths), budget=8, seed=1, q=4, options={"n_initial": 3})
    assert run.asks == 2 and list(run.batch_of) == [0] * 4 + [1] * 4
    assert run.best_after_batches(1) == run.values[:4].min()


def test_pareto_front_against_brute_force():
    rng = np.random.default_rng(3)
    cost, value = rng.integers(1, 20, 60).astype(float), rng.random(60)
    front = set(_pareto(cost, value).tolist())
    brute = {i for i in range(60)
             if not any((cost[j] <= cost[i] and value[j] < value[i])
                        or (cost[j] < cost[i] and value[j] <= value[i]) for j in range(60))}
    assert front == brute


def test_tables_round_trip_and_bad_rows_are_named(tmp_path):
    path = tmp_path / "t.md"
    path.write_text("text\n\n" + markdown_table(["a", "b"], [[1, 0.123456], ["x|y", None]]) + "\n")
    [rows] = read_tables(path)
    assert rows == [{"a": "1", "b": "0.1235"}, {"a": "x|y", "b": "–"}]
    path.write_text("| a | b |\n| --- | --- |\n| 1 |\n")
    with pytest.raises(ValueError, match="t.md:3"):
        read_tables(path)


def test_paper_scale_says_it_needs_a_gpu(capsys):
    if jax.default_backend() == "gpu":
        pytest.skip("a GPU is present")
    assert cli.main(["--scale", "paper"]) == 2
    assert "meant for a GPU" in capsys.readouterr().err


def test_bad_parts_are_refused(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--parts", "1,9"])
    assert "--parts" in capsys.readouterr().err
