//! No import cycles among the modules of `bedrud-shared`, read from the source: for the crate
//! root and every directory module, its children form a graph (child A → child B when any
//! file under A names a path under B, through `crate::`, `super::` or `self::`), and that
//! graph must have no cycle; at the crate root every edge also follows the layers `lib.rs`
//! documents. A module and its own descendants are not compared (a parent's
//! `mod.rs` declaring and re-exporting its children is containment, not a dependency).
//! Test code (`#[cfg(test)]` onwards) is left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of the crate: its path (`["http", "admin"]`) and its source without tests.
fn modules(src: &Path) -> BTreeMap<Vec<String>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().and_then(|x| x.to_str()) != Some("rs") {
                continue;
            }
            let rel: PathBuf = p.strip_prefix(src).unwrap().with_extension("");
            let mut path: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(path.last().map(String::as_str), Some("mod" | "lib")) {
                path.pop();
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap().to_string();
            out.insert(path, code);
        }
    }
    out
}

/// The module paths a source names, resolved against `module` (its own path).
fn references(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let code: String = code
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    for (prefix, base) in [
        ("crate::", Vec::new()),
        ("super::", module[..module.len().saturating_sub(1)].to_vec()),
        ("self::", module.to_vec()),
    ] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // `my_crate::` or `bedrud_shared::`, not ours
            }
            for tail in heads(rest) {
                let mut p = base.clone();
                p.extend(tail);
                out.push(p);
            }
        }
    }
    out
}

/// The leading path segments after a prefix: `a::b::C` → [[a, b, C]], `{a, b::c}` → [[a], [b, c]].
fn heads(rest: &str) -> Vec<Vec<String>> {
    let rest = rest.trim_start();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut depth = 0;
        let mut end = inner.len();
        for (i, ch) in inner.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    end = i;
                    break;
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
        return inner[..end]
            .split(',')
            .filter_map(|part| {
                let segs = segments(part.trim());
                (!segs.is_empty()).then_some(segs)
            })
            .collect();
    }
    let segs = segments(rest);
    if segs.is_empty() { vec![] } else { vec![segs] }
}

fn segments(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for seg in s.split("::") {
        let word: String = seg
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() {
            break;
        }
        let done = word.len() < seg.len();
        out.push(word);
        if done {
            break;
        }
    }
    out
}

/// The longest known module that `path` starts with.
fn resolve(known: &BTreeSet<Vec<String>>, path: &[String]) -> Option<Vec<String>> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| known.contains(p))
}

/// Strongly connected components with more than one member (Tarjan).
fn cycles(nodes: &[String], edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<String, usize>,
        low: BTreeMap<String, usize>,
        stack: Vec<String>,
        on: BTreeSet<String>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit(t: &mut T<'_>, v: &str) {
        t.index.insert(v.into(), t.next);
        t.low.insert(v.into(), t.next);
        t.next += 1;
        t.stack.push(v.into());
        t.on.insert(v.into());
        for w in t.edges.get(v).cloned().unwrap_or_default() {
            if !t.index.contains_key(&w) {
                visit(t, &w);
                let lw = t.low[&w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(&w) {
                let iw = t.index[&w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut scc = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(&w);
                let done = w == v;
                scc.push(w);
                if done {
                    break;
                }
            }
            if scc.len() > 1 {
                scc.sort();
                t.out.push(scc);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for n in nodes {
        if !t.index.contains_key(n) {
            visit(&mut t, n);
        }
    }
    t.out
}

/// The layers `shared/src/lib.rs` documents, lowest first: a module may use its own layer
/// and the ones below, never one above.
fn layer(module: &str) -> usize {
    match module {
        "error" => 0,
        "domain" => 1,
        "config" | "telemetry" | "metrics" => 2,
        "aws" | "livekit" | "queue" | "blobs" | "store" | "secrets" | "ratelimit" | "mail"
        | "outbound" | "oauth" | "webauthn" => 3,
        "settings" | "auth" | "passkeys" | "accounts" | "rooms" | "moderation" | "attendance"
        | "recordings" | "webhooks" | "reconciler" | "participants" | "admin" | "admin_actions"
        | "dashboard" => 4,
        "state" => 5,
        "http" | "worker" | "runtime" => 6,
        "lambda" => 7,
        other => panic!("module `{other}` has no layer: add it to lib.rs and to this list"),
    }
}

#[test]
fn shared_has_no_import_cycles() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let mods = modules(&src);
    let known: BTreeSet<Vec<String>> = mods.keys().cloned().collect();
    let dir_modules: BTreeSet<Vec<String>> = {
        let mut d = BTreeSet::new();
        let mut stack = vec![src.clone()];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                if e.path().is_dir() {
                    let rel = e.path().strip_prefix(&src).unwrap().to_path_buf();
                    d.insert(
                        rel.components()
                            .map(|c| c.as_os_str().to_string_lossy().into_owned())
                            .collect(),
                    );
                    stack.push(e.path());
                }
            }
        }
        d.insert(Vec::new());
        d
    };
    // Every file-to-module reference, resolved.
    let mut refs: Vec<(Vec<String>, Vec<String>)> = Vec::new();
    for (module, code) in &mods {
        for r in references(module, code) {
            if let Some(target) = resolve(&known, &r) {
                refs.push((module.clone(), target));
            }
        }
    }
    assert!(
        refs.len() > 100,
        "the reader found too few references: {}",
        refs.len()
    );
    let mut found = Vec::new();
    for parent in &dir_modules {
        let children: Vec<String> = known
            .iter()
            .filter(|k| k.len() == parent.len() + 1 && k.starts_with(parent))
            .map(|k| k.last().unwrap().clone())
            .collect();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, to) in &refs {
            let child_of = |p: &Vec<String>| {
                (p.len() > parent.len() && p.starts_with(parent)).then(|| p[parent.len()].clone())
            };
            if let (Some(a), Some(b)) = (child_of(from), child_of(to))
                && a != b
            {
                edges.entry(a).or_default().insert(b);
            }
        }
        if parent.is_empty() {
            for (a, bs) in &edges {
                for b in bs {
                    if layer(a) < layer(b) {
                        found.push(format!(
                            "{a} (layer {}) uses {b} (layer {}): lib.rs's layers say it must not",
                            layer(a),
                            layer(b)
                        ));
                    }
                }
            }
        }
        for c in cycles(&children, &edges) {
            found.push(format!("{}: {}", parent.join("::"), c.join(" ↔ ")));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

/// Every source file opens with a header comment saying what it is for, and none points at
/// documents that are not in this repository.
#[test]
fn every_module_has_a_header_and_cites_only_this_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut bad = Vec::new();
    let mut stack: Vec<PathBuf> = [
        "shared/src",
        "sidecar/src",
        "functions",
        "tests/src",
        "tests/tests",
    ]
    .iter()
    .map(|d| root.join(d))
    .collect();
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|x| x.to_str()) == Some("rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                let shown = p.strip_prefix(&root).unwrap().display().to_string();
                if !text.starts_with("//!") {
                    bad.push(format!("{shown}: no `//!` header"));
                }
                // Spelled in pieces so this file does not match itself.
                let outside = [
                    concat!("DESIGN", " §"),
                    concat!("client", "-contract"),
                    concat!("reference", "/"),
                    concat!("design", " note"),
                ];
                for outside in outside {
                    if text.contains(outside) {
                        bad.push(format!(
                            "{shown}: cites `{outside}`, which is not in the repository"
                        ));
                    }
                }
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
