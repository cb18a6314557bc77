#!/usr/bin/env python3
"""The shape of the house: import circles between src/ files, arrows from a lower layer
up to a higher one, and the longest functions. Rerun: `python3 scripts/house.py`."""
import os, re, sys
from collections import defaultdict

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")

def module_of(path):
    rel = os.path.relpath(path, SRC)[:-3]
    parts = rel.split(os.sep)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts

files = {}
for root, _, names in os.walk(SRC):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            files[tuple(module_of(p))] = p

def resolve(base, segs):
    """The longest known module prefix of base+segs."""
    full = list(base) + segs
    for k in range(len(full), 0, -1):
        if tuple(full[:k]) in files:
            return tuple(full[:k])
    return None

USE = re.compile(r"\b(crate|super)((?:::[A-Za-z_][A-Za-z0-9_]*)+|::\{)")
def targets(mod, text):
    out = set()
    # Leave test modules out: a test may reach anywhere.
    text = re.split(r"#\[cfg\(test\)\]\s*mod tests", text)[0]
    for m in re.finditer(r"\b(crate|super)((?:::(?:[A-Za-z_][A-Za-z0-9_]*|\{[^}]*\}))+)", text):
        kind, rest = m.group(1), m.group(2)
        segs = re.findall(r"::([A-Za-z_][A-Za-z0-9_]*)", rest.split("{")[0])
        base = [] if kind == "crate" else list(mod[:-1]) if files.get(mod, "").endswith(("mod.rs",)) is False else list(mod)
        if kind == "super":
            # In a mod.rs, super is the parent of the directory's module.
            base = list(mod[:-1]) if not files[mod].endswith("mod.rs") else list(mod[:-1])
        # Each extra `super::` climbs one more.
        while segs and segs[0] == "super":
            segs = segs[1:]; base = base[:-1]
        t = resolve(base, segs)
        if "{" in rest and t is not None:
            inner = rest.split("{", 1)[1]
            for name in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)", inner):
                u = resolve(list(t), [name])
                if u and u != mod: out.add(u)
        if t and t != mod and t != tuple(base[:len(t)]) or (t and len(t) > len(base)):
            if t != mod: out.add(t)
        # A macro is reached by its defining module's name (`agent_log!` lives in agent::log).
    for macro in re.findall(r"crate::([a-z_]+)!", text):
        out.add(MACROS.get(macro, ()))
    out.discard(())
    return {t for t in out if t != mod}

MACROS = {}
for m, p in files.items():
    for macro in re.findall(r"macro_rules!\s*([a-z_]+)", open(p).read()):
        MACROS[macro] = m
name = lambda m: "::".join(m) or "crate"
graph = {m: targets(m, open(p).read()) for m, p in files.items()}

# A child that imports from the module that declares it leans on its parent: a circle
# (the parent names the child), if a small one.
ancestors = sorted((name(m), name(t)) for m, ts in graph.items() for t in ts
                   if len(t) < len(m) and m[:len(t)] == t)
graph = {m: {t for t in ts if not (len(t) < len(m) and m[:len(t)] == t)} for m, ts in graph.items()}
# Tarjan's strongly connected components.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
sys.setrecursionlimit(10000)
def strong(v):
    index[v] = low[v] = counter[0]; counter[0] += 1; stack.append(v); on.add(v)
    for w in graph.get(v, ()):
        if w not in index:
            strong(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v: break
        if len(comp) > 1: sccs.append(comp)
for v in graph:
    if v not in index: strong(v)

print(f"import circles: {len(sccs)} between siblings, {len(ancestors)} children importing their parent")
for a, b in ancestors:
    print(f"  {a} -> {b}")
for c in sorted(sccs, key=len, reverse=True):
    print(f"  {len(c)} files: " + ", ".join(sorted(name(m) for m in c)))

# Layers, lowest first: an arrow from a lower layer to a higher one is an arrow up.
LAYERS = [["domain", "limits", "exit", "validate"], ["store", "atlassian", "config"],
          ["service"], ["agent", "callback", "clipboard"], ["jira"],
          ["cli", "tui", "receiver", "proxy", "main"]]
rank = {top: i for i, tops in enumerate(LAYERS) for top in tops}
up = []
for m, ts in graph.items():
    for t in ts:
        if m and t and rank.get(m[0], 9) < rank.get(t[0], -1):
            up.append((name(m), name(t)))
print(f"arrows up: {len(up)}")
for a, b in sorted(up):
    print(f"  {a} -> {b}")

# The faces (cli, tui, receiver, proxy, main) reach the store and Atlassian only through the agent.
faces = [(name(m), name(t)) for m, ts in graph.items() for t in ts
         if m and m[0] in ("cli", "tui", "receiver", "proxy", "main") and t[0] in ("store", "atlassian")]
print(f"faces importing store or atlassian: {len(faces)}")
for a, b in sorted(faces):
    print(f"  {a} -> {b}")

# Longest functions: from `fn` to its closing brace at the same indentation.
lengths = []
for m, p in files.items():
    lines = open(p).read().split("\n")
    cut = next((i for i, l in enumerate(lines) if re.match(r"#\[cfg\(test\)\]", l)
                and i + 1 < len(lines) and "mod tests" in lines[i + 1]), len(lines))
    for i, l in enumerate(lines[:cut]):
        mm = re.match(r"^(\s*)(?:pub(?:\([a-z]+\))? )?(?:async )?fn (\w+)", l)
        if mm:
            ind = mm.group(1)
            # A declaration without a body (a trait's required method) ends at its `;`.
            head = next((k for k in range(i, cut) if lines[k].rstrip().endswith(("{", ";"))), i)
            if lines[head].rstrip().endswith(";"):
                continue
            for j in range(i + 1, cut):
                if lines[j] == ind + "}":
                    lengths.append((j - i + 1, f"{os.path.relpath(p, SRC)}:{i+1} {mm.group(2)}"))
                    break
lengths.sort(reverse=True)
print("longest functions:")
for n, where in lengths[:10]:
    print(f"  {n:4} lines  {where}")
