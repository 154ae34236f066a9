//! The crate's files import each other in one direction: no file reaches
//! back to a file that imports it, directly or through others. Read from the
//! sources: each `crate::…` and `super::…` path outside comments is an edge
//! to the file that defines the item it names (following `pub use`).
//!
//! The C ABI (`src/capi/`) counts as one node: it is the top layer, which no
//! other file may import, and its files share the C side's bookkeeping.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Source files by module path ("" is the crate root, "core::scheduler"…).
fn modules(root: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().map_or(true, |e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The code of a file without comments (doc links are not imports) and
/// without its `#[cfg(test)]` tail (a test module may use anything).
fn code(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head = format!("{prefix}{}", &tree[..open]);
        let close = tree
            .rfind('}')
            .unwrap_or_else(|| panic!("unbalanced use: {tree}"));
        let body = &tree[open + 1..close];
        let (mut depth, mut start) = (0, 0);
        for (i, c) in body.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&head, &body[start..i], out);
                    start = i + 1;
                }
                _ => {}
            }
        }
        expand(&head, &body[start..], out);
    } else if !tree.is_empty() {
        let path = tree.split(" as ").next().unwrap().trim();
        out.push(format!("{prefix}{path}"));
    }
}

/// The bodies of a file's `use` statements (what follows `use`, to `;`).
fn use_trees(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let at_word = i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric();
        let tail = &rest[i + 4..];
        let end = tail.find(';').unwrap_or(tail.len());
        if at_word {
            out.push(tail[..end].trim());
        }
        rest = &tail[end..];
    }
    out
}

/// Every path a file names: `use` trees (from `crate::`, `super::` or a
/// child module) and inline `crate::`/`super::` paths.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tree in use_trees(code) {
        expand("", tree, &mut out);
    }
    for start in ["crate::", "super::"] {
        let mut rest = code;
        while let Some(i) = rest.find(start) {
            let tail = &rest[i..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            out.push(tail[..end].trim_end_matches(':').to_string());
            rest = &tail[end..];
        }
    }
    out
}

struct Crate {
    files: BTreeMap<String, PathBuf>,
    code: BTreeMap<String, String>,
}

impl Crate {
    /// The module that defines `name` as seen from module `module`,
    /// following `pub use` re-exports.
    fn definer(&self, module: &str, name: &str, depth: u32) -> String {
        let code = &self.code[module];
        let defines = [
            "struct", "enum", "trait", "fn", "type", "const", "static", "mod",
        ]
        .iter()
        .any(|k| {
            code.contains(&format!("{k} {name}<"))
                || code.contains(&format!("{k} {name} "))
                || code.contains(&format!("{k} {name}("))
                || code.contains(&format!("{k} {name};"))
        });
        if defines || depth > 8 {
            return module.to_string();
        }
        for p in paths(code) {
            if p.rsplit("::").next() == Some(name) {
                if let Some(m) = self.resolve(module, &p, depth + 1) {
                    return m;
                }
            }
        }
        // `pub use child::{…}` without crate:: or super::.
        for tree in use_trees(code) {
            let mut found = Vec::new();
            expand("", tree, &mut found);
            for p in found.iter().filter(|p| p.rsplit("::").next() == Some(name)) {
                let Some((child, _)) = p.rsplit_once("::") else {
                    continue;
                };
                let full = join(module, child);
                if self.files.contains_key(&full) {
                    return self.definer(&full, name, depth + 1);
                }
            }
        }
        module.to_string()
    }

    /// The module a path used in `module` leads to.
    fn resolve(&self, module: &str, path: &str, depth: u32) -> Option<String> {
        let mut parts: Vec<&str> = path.split("::").collect();
        let mut at = match parts.first()? {
            &"crate" => String::new(),
            &"super" => module.rsplit_once("::").map_or("", |(p, _)| p).to_string(),
            &"self" => module.to_string(),
            // `use child::…` in a module with that child.
            child if self.files.contains_key(&join(module, child)) => module.to_string(),
            _ => return None,
        };
        if at != module || ["crate", "super", "self"].contains(&parts[0]) {
            parts.remove(0);
        }
        while parts.first() == Some(&"super") {
            at = at.rsplit_once("::").map_or("", |(p, _)| p).to_string();
            parts.remove(0);
        }
        for (i, part) in parts.iter().enumerate() {
            let next = join(&at, part);
            if self.files.contains_key(&next) {
                at = next;
            } else {
                let _ = i;
                return Some(self.definer(&at, part, depth));
            }
        }
        Some(at)
    }
}

/// The node of a module in the graph: the C ABI's files are one.
fn node(module: &str) -> String {
    match module.split_once("::") {
        Some(("capi", _)) => "capi".to_string(),
        _ => module.to_string(),
    }
}

fn join(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}::{b}")
    }
}

#[test]
fn no_file_of_the_crate_imports_one_that_imports_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = modules(&root);
    assert!(files.contains_key("core"), "src/core/mod.rs not found");
    let code = files.iter().map(|(m, p)| (m.clone(), code(p))).collect();
    let krate = Crate { files, code };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for module in krate.files.keys() {
        // The crate root declares and re-exports every module: it is the
        // top, which nothing imports by name.
        if module.is_empty() {
            continue;
        }
        let mut named = paths(&krate.code[module]);
        // Inline paths through a child module: `io::FdTable`.
        for child in krate.files.keys() {
            let Some(name) = child.strip_prefix(&format!("{module}::")) else {
                continue;
            };
            let code = &krate.code[module];
            let needle = format!("{name}::");
            let used = code.match_indices(&needle).any(|(i, _)| {
                let before = code[..i].chars().next_back().unwrap_or(' ');
                !(before.is_alphanumeric() || before == '_' || before == ':')
            });
            if !name.contains("::") && used {
                named.push(format!("self::{name}"));
            }
        }
        for p in named {
            if let Some(to) = krate.resolve(module, &p, 0) {
                let (from, to) = (node(module), node(&to));
                if from != to && !to.is_empty() {
                    edges.entry(from).or_default().insert(to);
                }
            }
        }
    }
    // Any circle shows as a path from a file back to itself.
    let mut circles = Vec::new();
    for start in edges.keys() {
        let mut seen = BTreeSet::new();
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        while let Some((at, trail)) = stack.pop() {
            for next in edges.get(&at).into_iter().flatten() {
                if next == start {
                    circles.push(trail.join(" -> ") + " -> " + start);
                } else if seen.insert(next.clone()) {
                    let mut t = trail.clone();
                    t.push(next.clone());
                    stack.push((next.clone(), t));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
    // The check sees the imports it must: the loop imports the core, the
    // core its actor table, the C ABI the core; and nothing imports the C
    // ABI.
    assert!(edges["event_loop"].contains("core"), "{edges:#?}");
    assert!(edges["core"].contains("core::table"), "{edges:#?}");
    assert!(edges["capi"].contains("core"), "{edges:#?}");
    let into_capi: Vec<_> = edges.iter().filter(|(_, to)| to.contains("capi")).collect();
    assert!(into_capi.is_empty(), "the C ABI is imported: {into_capi:?}");
}
