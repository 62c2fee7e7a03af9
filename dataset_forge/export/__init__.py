"""Export: training-ready outputs from a folder, a pair set or `split`'s subsets.

`inputs` finds subsets and samples, `plan` cuts them into shards, `worker` exports one shard
(WebDataset tar, LMDB transaction, a part file of per-file facts), `assemble` turns the parts
into the manifest (`columns` joins earlier reports' columns) and BasicSR `meta_info.txt`, and
`stats` writes `stats.json`. `wds` and `lmdbio` also read what they write (the loader in
`dataset_forge.data` uses them). Nothing here needs torch.
"""
