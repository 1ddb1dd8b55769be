# The two commands of the README: `make demo` (set up, then run the demo; `make demo PORT=8011` serves another
# port) and `make test`.
.PHONY: demo test setup

setup:
	scripts/setup.sh

demo: setup
	.venv/bin/proactif demo $(if $(PORT),--port $(PORT))

test:
	scripts/test.sh
