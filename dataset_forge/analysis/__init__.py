"""Measuring images: pure functions on paths that run inside workers.

`header` (facts from file headers), `integrity` (header tier and full decode), `quality`
(scores on reduced decodes, dataset-relative outliers), `pairs` (HQ/LQ scale and alignment),
`htmlparts` (report sections the analysis actions share). The actions in
`dataset_forge/actions/` only wire these to the parallel core and the reports.
"""
