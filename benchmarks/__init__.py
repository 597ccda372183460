"""How fast Jixiao is at group scale, each bench beside its floor
(docs/performance.md). Not part of the application: `jixiao bench ...` offers them from
a checkout, and the standalone ones run as `python -m benchmarks.<name>`."""
