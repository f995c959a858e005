"""paper_figs: scripts that regenerate every figure and table of the README.

`python -m paper_figs --scale smoke|cpu|paper`: grid versus BO, performance over resource
availability up to 15 layers, parallel BO, and the physics validation figures.
"""
