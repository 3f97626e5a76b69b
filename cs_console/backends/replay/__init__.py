"""The replay backend: a recording's frames served through the same protocols as the
live sources (MetricsSource, HealthProbe, LogSource), at the time of a movable clock."""
