"""Local fakes of the platforms' HTTP APIs, for tests and benchmarks."""
