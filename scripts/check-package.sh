#!/usr/bin/env bash
# Checks a built .deb without installing it: extracts it into a temporary directory, then
# checks every file is where Debian and systemd look for it, that the man pages and
# completions are the ones the packaged binary itself generates (one page per command,
# whatever commands it has), that the binary runs, that the maintainer scripts parse, and,
# where systemd-analyze exists, that the units verify cleanly. Ends with the sizes.
#   scripts/check-package.sh target/debian/jira-auth_*.deb
set -euo pipefail

deb="${1:?usage: scripts/check-package.sh PATH.deb}"
[ -f "$deb" ] || { echo "check-package: no such package: $deb" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$work/control"

failures=0
reported=0
fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}
# Says a group of checks passed, only when none of them failed since the last group.
ok() {
    [ "$failures" -eq "$reported" ] && echo "ok: $*"
    reported=$failures
}

expect_file() {
    local path="$1" mode="$2"
    if [ ! -f "$root/$path" ]; then
        fail "/$path is missing"
    elif [ "$(stat -c %a "$root/$path")" != "$mode" ]; then
        fail "/$path has mode $(stat -c %a "$root/$path"), not $mode"
    fi
}

for entry in \
    usr/bin/jira-auth:755 \
    usr/share/bash-completion/completions/jira-auth:644 \
    usr/share/zsh/vendor-completions/_jira-auth:644 \
    usr/share/fish/vendor_completions.d/jira-auth.fish:644 \
    usr/lib/systemd/user/jira-auth-agent.service:644 \
    usr/lib/systemd/user/jira-auth-proxy.service:644 \
    usr/lib/systemd/system/jira-auth-serve@.service:644 \
    usr/lib/sysusers.d/jira-auth.conf:644 \
    usr/share/doc/jira-auth/system-app.example.toml:644 \
    usr/share/doc/jira-auth/serve.env.example:644 \
    usr/share/doc/jira-auth/README.md:644 \
    usr/share/doc/jira-auth/copyright:644; do
    expect_file "${entry%:*}" "${entry##*:}"
done
ok "files in place"

binary="$root/usr/bin/jira-auth"
package_version="$(sed -n 's/^Version: //p' "$work/control/control")"
if version="$("$binary" --version)" && [ "$version" = "jira-auth ${package_version%-*}" ]; then
    ok "the packaged binary runs: $version"
else
    fail "the packaged binary printed '${version:-nothing}' for --version, not 'jira-auth ${package_version%-*}'"
fi

# The man pages the binary makes now are exactly the ones packaged: none missing, none stale.
"$binary" manpages "$work/man" >/dev/null
for page in "$work"/man/*.1; do
    packaged="$root/usr/share/man/man1/$(basename "$page").gz"
    if [ ! -f "$packaged" ]; then
        fail "no man page $(basename "$page") in /usr/share/man/man1"
    elif ! zcat "$packaged" | cmp -s - "$page"; then
        fail "/usr/share/man/man1/$(basename "$page").gz differs from what the binary generates"
    fi
done
generated=$(find "$work/man" -name '*.1' | wc -l)
shipped=$(find "$root/usr/share/man/man1" -name '*.1.gz' | wc -l)
[ "$generated" = "$shipped" ] || fail "$shipped man pages shipped, $generated commands have one"
[ "$generated" -gt 1 ] || fail "only $generated man page"
ok "$shipped man pages, one per command"

for shell in bash:usr/share/bash-completion/completions/jira-auth \
    zsh:usr/share/zsh/vendor-completions/_jira-auth \
    fish:usr/share/fish/vendor_completions.d/jira-auth.fish; do
    "$binary" completions "${shell%%:*}" | cmp -s - "$root/${shell#*:}" ||
        fail "the ${shell%%:*} completions differ from what the binary generates"
done
ok "completions for bash, zsh and fish"

for script in postinst prerm postrm; do
    if [ ! -x "$work/control/$script" ]; then
        fail "no executable $script in the control archive"
    elif ! sh -n "$work/control/$script"; then
        fail "$script does not parse"
    fi
done
ok "maintainer scripts parse"

# systemd-analyze verify names problems on stderr and still exits 0 for most, so any output
# counts as a failure. The units are verified as copies whose ExecStart points at the
# extracted binary (verify insists the program exists) and with MANPATH at the packaged man
# pages (verify checks the Documentation= links).
if command -v systemd-analyze >/dev/null 2>&1; then
    units="$work/units"
    mkdir -p "$units" "$work/runtime"
    chmod 700 "$work/runtime"
    point() { sed "s|/usr/bin/jira-auth|$binary|g" "$1" >"$2"; }
    point "$root/usr/lib/systemd/system/jira-auth-serve@.service" "$units/jira-auth-serve@check.service"
    point "$root/usr/lib/systemd/user/jira-auth-agent.service" "$units/jira-auth-agent.service"
    point "$root/usr/lib/systemd/user/jira-auth-proxy.service" "$units/jira-auth-proxy.service"
    man_option=()
    command -v man >/dev/null 2>&1 || man_option=(--man=no)
    verify() {
        local output
        if ! output="$(MANPATH="$root/usr/share/man" XDG_RUNTIME_DIR="$work/runtime" \
            systemd-analyze "$@" 2>&1)" || [ -n "$output" ]; then
            fail "systemd-analyze $*: ${output:-failed}"
        fi
    }
    verify verify "${man_option[@]}" "$units/jira-auth-serve@check.service"
    verify --user verify "${man_option[@]}" "$units/jira-auth-agent.service"
    verify --user verify "${man_option[@]}" "$units/jira-auth-proxy.service"
    if exposure="$(systemd-analyze security --offline=yes "$units/jira-auth-serve@check.service" 2>/dev/null |
        sed -n 's/.*Overall exposure level for [^:]*: //p')" && [ -n "$exposure" ]; then
        ok "units verify; jira-auth-serve@ exposure: $exposure"
    else
        ok "units verify"
    fi
else
    echo "skipped: systemd-analyze is not installed here, the units were not verified"
fi

if [ "$failures" -ne 0 ]; then
    echo "check-package: $failures problem(s) in $deb" >&2
    exit 1
fi

installed_kib="$(sed -n 's/^Installed-Size: //p' "$work/control/control")"
echo "package: $(stat -c %s "$deb") bytes ($deb)"
echo "installed: ${installed_kib} KiB by dpkg's count, $(du -sk "$root" | cut -f1) KiB on this disk"
