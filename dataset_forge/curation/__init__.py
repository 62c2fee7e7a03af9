"""Curation engine: act on what the checks find, split, combine, rename, organise, repair pairs.

    rules.py        selection rules shared with `validate` (named rules, FIELD OP VALUE criteria)
    facts.py        measuring what the rules read, on the parallel core; select()
    from_report.py  files earlier reports name (integrity, quality, pairs, dedup, validate)
    select.py       quarantine's selection: rules + criteria + reports
    dataset.py      plain files or HQ/LQ pairs (partners travel together)
    plan.py         plans of file operations on disk (SQLite): checked, listed, journaled
    apply.py        resuming and applying plans with undo manifests
    flow.py         the family's contract: plan, check, list, dry run or apply
    split.py        subsets, near-duplicate groups, deterministic assignment
    combine.py      merging with collision policies
    naming.py       rename patterns, organise categories, two-phase renames
    pairfix.py      pairs fitted to an exact scale and cropped into alignment
    matching.py     partners whose names differ: fuzzy names, then thumbnails

The actions in dataset_forge/actions/ (quarantine, split, combine, rename, organise, fix-pairs)
put these together.
"""
