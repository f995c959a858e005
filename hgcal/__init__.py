"""hgcal: HGCal trigger geometry, fast shower simulation and ROOT ntuple I/O (uproot).

Will hold `Geometry`, `simulate`, `write_ntuple` and `load` -> `Dataset`, so that real CMS
trigger ntuples and the fast simulation feed the search through one loader.
"""
