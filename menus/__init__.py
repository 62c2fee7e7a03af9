"""The Textual face of Dataset Forge: screens and widgets only, calling the engine.

    from menus.app import ForgeApp, run_app
    run_app("assets/demo", settings_path=None)     # what `dataset-forge app DIR` does

Layout: `app.py` (the App, bindings, command palette), `screens/` (one screen per module),
`widgets/` (reusable parts), `messages.py` (the typed messages between them), and small pure
helpers (`catalog.py`, `fields.py`, `commandline.py`, `dedup_groups.py`) that tests use directly.
The one stylesheet is `assets/forge.tcss`.
"""
