"""What the tests and the benchmarks both need: the app's server process, headless Chromium, seeding, AppTest helpers and the providers' doubles (doubles/)."""
