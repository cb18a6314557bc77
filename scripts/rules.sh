#!/usr/bin/env bash
# How many places each rule issue 17 names is written in, in the src/ of a checkout
# (default: this one). Rerun: `bash scripts/rules.sh [DIR]`. A count of places, not a proof:
# each line is a grep anyone can read below.
set -u
src="$(cd "${1:-$(dirname "$0")/..}/src" && pwd)" || exit 1
# Count in the code that runs: a copy of src/ without its test modules and test files.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$src" "$work" <<'PY'
import os, re, sys
src, out = sys.argv[1], sys.argv[2]
for root, _, names in os.walk(src):
    for n in names:
        if not n.endswith(".rs") or n in ("tests.rs", "proptests.rs"):
            continue
        text = open(os.path.join(root, n)).read()
        text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
        # Doc and line comments say things; they are not rules.
        text = "\n".join(l for l in text.split("\n") if not l.lstrip().startswith("//"))
        target = os.path.join(out, os.path.relpath(root, src))
        os.makedirs(target, exist_ok=True)
        open(os.path.join(target, n), "w").write(text)
PY
cd "$work" || exit 1
count() { printf '%-64s %s\n' "$1" "$(eval "$2" | wc -l)"; }
nontest() { grep -v -E '(^|/)tests?(\.rs|/)|proptests|#\[test\]'; }
count "exit codes as bare numbers (Failure/WireError/quiet, code:)" \
  "grep -rnE '(Failure::new|WireError::new|Failure::quiet)\(\s*[0-4]\b|\bcode: [0-4],' . | nontest"
count "exit codes as bare numbers in exit-code matches (=> N)" \
  "grep -rnE -A12 'fn exit_code\(&self\) -> u8' . | grep -E '=> [0-4],'"
count "error-to-code conversions (two generic ones are the goal)" \
  "grep -rnE '(WireError|Failure)::new\((e|error)\.(exit_code|exit)\(\), (e|error)\.to_string\(\)\)' ."
count "copies of 'unexpected reply'" "grep -rn 'fn unexpected' ."
count "faces matching raw replies (Reply:: in cli, tui, receiver, main)" \
  "grep -rn 'Reply::' cli tui receiver main.rs"
count "'no such integration' sentences built" \
  "grep -rnE 'no integration named|NoIntegration \{|NoIntegration\(' . | nontest"
count "Principal::from_key outside domain and store records" \
  "grep -rn 'Principal::from_key' . | grep -v -E '^\./(domain|store/)' | nontest"
count "system app loads in the agent (load_from_env)" \
  "grep -rn 'load_from_env' agent"
count "places that choose a lifetime when Atlassian omits expires_in" \
  "grep -rn 'expires_in' . | grep 'unwrap_or' | nontest"
count "distinct caps given to sanitize()" \
  "grep -rhoE 'sanitize\([^()]*(\([^()]*\))?[^()]*, *[0-9_]+\)' . | grep -oE '[0-9_]+\)$' | sort -u"
count "'30 minutes' written beside DEFAULT_TTL_SECS" "grep -rn '30 minutes' . | nontest"
count "files writing Atlassian's auth host (outside validate)" \
  "grep -rln 'auth\.atlassian\.com' . | grep -v -E '^\./validate/' | nontest"
count "token state words (\"expiring\" spelled)" "grep -rn '=> \"expiring\"' . | nontest"
