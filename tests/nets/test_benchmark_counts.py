"""The trainer benchmark's FLOP counts, checked by hand."""

import nets
from benchmarks.trainer import best_split_in_two, executed_flops, useful_flops


def test_useful_flops_by_hand():
    # 8 inputs -> 4 -> 1: m = 8*4 + 4*1 = 36 MACs, m1 = 32 in the first layer
    one = useful_flops([nets.Topology((4,))], 8, n_train=10, n_val=3, epochs=2)
    assert one == ((6 * 36 - 2 * 32) * 10 + 2 * 36 * 3) * 2
    # no hidden layer: the output layer is the first layer, 8 MACs
    assert useful_flops([nets.Topology(())], 8, 10, 3, 1) == (6 * 8 - 2 * 8) * 10 + 2 * 8 * 3


def test_executed_flops_count_the_padding():
    topologies = [nets.Topology((4,)), nets.Topology((60, 30))]
    useful = useful_flops(topologies, 8, 1000, 100, 2)
    executed, chunks = executed_flops(topologies, 8, 1000, 100, 2, batch_size=512)
    assert len(chunks) >= 1 and executed > useful
    exact, _ = executed_flops([nets.Topology((16,))], 8, 1024, 8, 1, batch_size=512)
    assert exact == useful_flops([nets.Topology((16,))], 8, 1024, 8, 1)  # nothing padded


def test_executed_flops_count_the_copies_that_fill_a_chunk():
    one = useful_flops([nets.Topology((16,))], 8, 1024, 8, 1)
    # three models run at two calls at once: two chunks of two, one a throw-away copy
    executed, chunks = executed_flops([nets.Topology((16,))] * 3, 8, 1024, 8, 1,
                                      batch_size=512, parallel=2)
    assert [len(c.members) for c in chunks] == [2, 2] and executed == 4 * one


def test_the_best_split_in_two_groups_like_with_like():
    big, small = nets.Topology((64, 64)), nets.Topology((8, 8))
    assert sorted(best_split_in_two([big, small, big, small], 8)) == [[0, 2], [1, 3]]
    # one model far larger than the rest: it trains alone, the others share the other shape
    groups = best_split_in_two([small, nets.Topology((512, 512)), small, big], 8)
    assert sorted(groups) == [[0, 2, 3], [1]]
    assert best_split_in_two([small], 8) == [[0]]
