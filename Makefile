# The two commands of the README: `make demo` (set up, then run the demo) and `make test`.
.PHONY: demo test setup

setup:
	scripts/setup.sh

demo: setup
	.venv/bin/proactif demo

test:
	scripts/test.sh
