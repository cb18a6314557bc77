#!/usr/bin/env bash
# Builds the Debian package: the release binary, then its own man pages and completions (so
# they match the commands it has), then `cargo deb --no-build` with the assets listed in
# Cargo.toml's [package.metadata.deb]. Prints the path of the .deb on the last line.
#   scripts/package.sh            then: scripts/check-package.sh target/debian/*.deb
set -euo pipefail
cd "$(dirname "$0")/.."

if ! cargo deb --version >/dev/null 2>&1; then
    echo "package.sh: cargo-deb is missing; install it with: cargo install cargo-deb --locked" >&2
    exit 1
fi

cargo build --release --locked
# Where Cargo really builds (CARGO_TARGET_DIR, a config): cargo-deb reads the assets'
# target/release/ prefix as that directory, so the generated files must land there.
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')"
binary="$target_dir/release/jira-auth"
assets="$target_dir/release/deb-assets"

rm -rf "$assets"
mkdir -p "$assets/completions"
"$binary" manpages "$assets/man" >/dev/null
# Compressed here: cargo-deb gzips man pages only when they are not under target/release.
gzip -9n "$assets"/man/*.1
"$binary" completions bash >"$assets/completions/jira-auth.bash"
"$binary" completions zsh >"$assets/completions/_jira-auth"
"$binary" completions fish >"$assets/completions/jira-auth.fish"

cargo deb --no-build --locked >&2
version="$("$binary" --version | cut -d' ' -f2)"
ls "$target_dir"/debian/jira-auth_"$version"-*.deb
