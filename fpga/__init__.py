"""fpga: from a trained topology to hls4ml, and an analytic resource and latency model.

Will hold `to_keras` (Flax parameters -> Keras 3 Sequential), `to_hls` (hls4ml project compiled
for C simulation) and `estimate` (DSP, LUT, FF, BRAM and latency of an MLP on a device), which the
search uses as a budget.
"""
