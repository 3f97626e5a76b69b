"""The built-in simulated CustomerSignal project (`cs-console demo`, `--demo`).

Entry points: wiring.build_demo_environment (an Environment with the demo's
clock, metrics source, health probe, log sources and database inspector) and
simulation.DemoProject (the simulated state and every action it accepts).
Nothing is imported here, so `import cs_console.backends.demo` stays free.
"""
