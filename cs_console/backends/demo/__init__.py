"""The built-in simulated CustomerSignal project (`cs-console demo`, `--demo`).

model/ is the simulated project itself (model.project.DemoProject: its state and
every read and action it accepts); logs/ generates its log records. The adapters
here put it behind the domain protocols: metrics_source, health_probe,
log_source and inspector. They import the model, never the other way;
wiring/demo.py assembles them into an Environment. Nothing is imported here,
so `import cs_console.backends.demo` stays free.
"""
