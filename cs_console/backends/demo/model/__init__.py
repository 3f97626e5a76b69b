"""The demo's model: the simulated project, its clock, its scenarios and its per-second figures.

Layers, each importing only those above it:
- static facts and pure helpers: catalog, scenarios, noise, clock, results, timeline, context;
- the per-second model: demand (what clients ask), connections (the stateful
  connection slots), performance (how the project copes), pg_activity,
  pg_tables, pg_statements (the database seen from the inside);
- the project: core (clock, state, caches) and its facets, database, auth,
  platform, metrics and health, summed up in project.DemoProject.
Nothing here imports the adapters (backends/demo/*.py) or the log generators.
Nothing is imported here either.
"""
