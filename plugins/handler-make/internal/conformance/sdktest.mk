# The project of the sdktest.Handler conformance suite (see conformance.go).
# Recipes are silent (@): make must not echo the markers the suite looks for.
.PHONY: ok fail env sleep

ok:
	@echo sdktest-stdout
	@echo sdktest-stderr >&2

fail:
	@echo failing on purpose >&2
	@exit 3

# Run without a shell (no metacharacters), so only make adds variables.
env:
	@env

# Lists sleep, its shell and make itself: none may survive a cancel.
sleep:
	@echo sdktest-started
	@sleep 60 & echo $$! $$$$ $$PPID > "$$SDKTEST_PIDFILE"; wait
