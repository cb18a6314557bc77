#!/usr/bin/env bash
# Re-captures the README's pictures of the main screens from the real binary (in a
# pseudo-terminal, over a seeded store, against nothing on the network) into docs/screens/
# and README.md's marked blocks. `cargo test` fails when they drift; review the diff and commit.
set -euo pipefail
cd "$(dirname "$0")/.."
JIRA_AUTH_UPDATE_SCREENSHOTS=1 cargo test --test readme_screens -- --exact \
    the_readme_shows_the_screens_as_the_binary_draws_them
git --no-pager diff --stat -- README.md docs/screens/ 2>/dev/null || true
