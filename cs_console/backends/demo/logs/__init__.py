"""The demo's log generators: one module per Supabase log source (auth, edge, functions, postgres).

generator.records_for_second is the entry point (backends/demo/log_source.py
calls it); second.py holds what every source shares. They read the model
(backends/demo/model), which never imports them. Nothing is imported here.
"""
