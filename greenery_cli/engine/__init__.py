"""The build engine: which models to build (selection.py), what each needs given what changed
since its last build (state.py, run.py), and the statements that materialise it
(materialize.py, over the templates in greenery_cli/queries/build/). docs/models.md describes
materialisations, incremental models, state and selection for users.
"""
