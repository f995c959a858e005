"""Shape-bucket planning: bounded padding, one activation per bucket, equal-size chunks."""

import pytest

import nets
from nets.buckets import model_bytes, padded_macs, plan, round_width, step_bytes

PLAN = dict(width_multiple=8, memory_budget=1 << 40, batch_size=64, eval_batch=64, n_val=64)


def test_width_grid():
    assert [round_width(w, 8) for w in (0, 1, 8, 9, 64, 65, 97, 129, 1000, 2000)] == [
        0, 8, 8, 16, 64, 96, 128, 192, 1024, 2048]
    assert [round_width(w, 1) for w in (3, 8, 9, 13, 17, 25)] == [3, 8, 12, 16, 24, 32]


def test_padding_waste_is_bounded_and_every_model_placed_once():
    topologies = [nets.Topology((w, w // 2 + 1)) for w in (4, 8, 30, 60, 200, 500, 1000)]
    topologies.append(nets.Topology((20,), "tanh"))
    # compilations priced beyond any padding: only max_waste keeps models apart
    chunks = plan(topologies, 2, 10, max_waste=2.0, events=100, compile_macs=float("inf"),
                  **PLAN)
    members = sorted(m for c in chunks for m in c.members[:c.n_real])
    assert members == list(range(2 * len(topologies)))
    for c in chunks:
        tops = {topologies[m // 2] for m in c.members}
        assert {t.activation for t in tops} == {c.activation}
        useful = sum(topologies[m // 2].macs(10) for m in c.members)
        assert padded_macs(c.widths, 10) * len(c.members) <= 2.0 * useful or len(tops) == 1
        for m in c.members:  # seeds of one topology share the chunk
            assert m - m % 2 in c.members and m - m % 2 + 1 in c.members
    assert len({c.widths for c in chunks}) > 1  # 4 and 1000 are not padded together


def test_models_merge_when_padding_costs_less_than_a_compilation():
    topologies = [nets.Topology((4, 4)), nets.Topology((60, 60))]
    extra = 3 * (padded_macs((64, 64), 8) * 2 - padded_macs((64, 64), 8)
                 - padded_macs((8, 8), 8)) * 100  # the merge's extra work over 100 events
    assert len(plan(topologies, 1, 8, max_waste=None, **PLAN)) == 2
    assert len(plan(topologies, 1, 8, max_waste=None, events=100, compile_macs=extra,
                    **PLAN)) == 2
    assert len(plan(topologies, 1, 8, max_waste=None, events=100, compile_macs=extra + 1,
                    **PLAN)) == 1


def test_max_waste_overrides_a_cheap_merge():
    topologies = [nets.Topology((4, 4)), nets.Topology((60, 60))]
    cheap = dict(PLAN, events=100, compile_macs=1e10)
    useful = sum(t.macs(8) for t in topologies)
    merged = padded_macs((64, 64), 8) * 2
    assert len(plan(topologies, 1, 8, max_waste=merged / useful, **cheap)) == 1
    assert len(plan(topologies, 1, 8, max_waste=merged / useful * 0.99, **cheap)) == 2
    assert len(plan(topologies, 1, 8, max_waste=1.0, **cheap)) == 2


def test_memory_budget_splits_into_equal_chunks():
    topologies = [nets.Topology((64, 64))] * 5
    per_model = model_bytes((64, 64), 8, 64, 64, 64)
    chunks = plan(topologies, 1, 8, max_waste=2.0, **dict(PLAN, memory_budget=2 * per_model))
    assert [len(c.members) for c in chunks] == [2, 2, 2]
    assert [c.n_real for c in chunks] == [2, 2, 1]
    assert len({c.widths for c in chunks}) == 1


def test_step_bytes_by_hand():
    # 8 inputs -> 4 -> 1, batch 10: 4 arrays of 10 x 5 units; 41 parameters, 4 copies
    assert step_bytes((4,), 8, 10) == 4 * (4 * 10 * 5 + 4 * (8 * 4 + 4 + 4 + 1))


def test_cache_budget_cuts_a_bucket_into_chunks_of_one_shape():
    topologies = [nets.Topology((64, 64))] * 5
    per_model = step_bytes((64, 64), 8, 64)
    chunks = plan(topologies, 1, 8, max_waste=None, cache_budget=2 * per_model, **PLAN)
    assert [c.n_real for c in chunks] == [2, 2, 1] and len({len(c.members) for c in chunks}) == 1
    tight = plan(topologies, 1, 8, max_waste=None, cache_budget=per_model - 1, **PLAN)
    assert [c.n_real for c in tight] == [1] * 5  # never below one model per call
    assert len(plan(topologies, 1, 8, max_waste=None, cache_budget=None, **PLAN)) == 1


@pytest.mark.parametrize("n_models, parallel, sizes", [
    (5, 4, [2, 2, 1]), (5, 2, [3, 2]), (4, 4, [1, 1, 1, 1]), (2, 8, [1, 1]), (3, 1, [3])])
def test_parallel_cuts_a_bucket_into_equal_chunks(n_models, parallel, sizes):
    topologies = [nets.Topology((16,))] * n_models
    chunks = plan(topologies, 1, 8, max_waste=None, parallel=parallel, **PLAN)
    assert [c.n_real for c in chunks] == sizes
    assert len({len(c.members) for c in chunks}) == 1  # one shape, one compilation
    assert sorted(m for c in chunks for m in c.members[:c.n_real]) == list(range(n_models))


def test_same_padded_shape_always_shares_a_bucket():
    topologies = [nets.Topology((1, 1)), nets.Topology((2, 3))]  # both pad to (8, 8)
    chunks = plan(topologies, 1, 4, max_waste=1.0, **PLAN)
    assert len(chunks) == 1 and chunks[0].widths == (8, 8)
