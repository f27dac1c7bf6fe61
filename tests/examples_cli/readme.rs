//! The README against the code.
//!
//! The README names environment variables, examples and their flags, and figures; each test
//! below fails when one of them no longer exists (or a figure has no command to reproduce it).

use super::*;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn readme() -> String {
    std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md")
}

/// The README's lines, with shell continuations (`\` at the end) joined.
fn readme_lines(readme: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in readme.lines() {
        if let Some(head) = line.trim_end().strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
        } else {
            pending.push_str(line);
            lines.push(std::mem::take(&mut pending));
        }
    }
    lines.push(pending);
    lines
}

/// The examples of `examples/` (one `.rs` file each).
fn example_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(manifest_dir().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// Every `--flag` in `text`, in order, with its byte offset (`--` alone is not a flag).
fn flags_in(text: &str) -> Vec<(usize, String)> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("--") {
        let start = i + at;
        let before = start.checked_sub(1).map(|j| bytes[j]);
        let mut end = start + 2;
        while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'-') {
            end += 1;
        }
        let name = text[start + 2..end].trim_end_matches('-');
        let prefixed = before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !prefixed && name.starts_with(|c: char| c.is_ascii_lowercase()) {
            out.push((start, format!("--{name}")));
        }
        i = end.max(start + 2);
    }
    out
}

/// Words naming an example in `line`: `--example NAME`, `examples/NAME`, or a code span that
/// starts with the example's name (`` `fleet check --format json` ``). Each with the byte range
/// of the text its flags come from: up to the next such mention, or the end of the code span.
fn example_mentions(line: &str, names: &[String]) -> Vec<(String, std::ops::Range<usize>)> {
    let mut found: Vec<(usize, usize, String, bool)> = Vec::new(); // (start, after name, name, span)
    for marker in ["--example ", "examples/"] {
        let mut i = 0;
        while let Some(at) = line[i..].find(marker) {
            let from = i + at + marker.len();
            let name: String = line[from..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            found.push((i + at, from + name.len(), name, false));
            i = from;
        }
    }
    // Code spans that start with an example's name, then a blank or the span's end.
    let mut in_span = false;
    let mut span_start = 0;
    for (i, c) in line.char_indices() {
        if c == '`' {
            if !in_span {
                span_start = i + 1;
            } else {
                let span = &line[span_start..i];
                let first = span.split(' ').next().unwrap_or("");
                if names.iter().any(|n| n == first) {
                    found.push((span_start, i, first.to_string(), true));
                }
            }
            in_span = !in_span;
        }
    }
    found.sort_by_key(|f| f.0);
    let mut out = Vec::new();
    for (k, (start, after, name, span)) in found.iter().enumerate() {
        let end = if *span {
            *after
        } else {
            found
                .iter()
                .skip(k + 1)
                .find(|f| !f.3 || f.0 > *after)
                .map_or(line.len(), |f| f.0)
        };
        let begin = if *span { *start + name.len() } else { *after };
        out.push((name.clone(), begin..end.max(begin)));
    }
    out
}

/// Whether `help` (an example's `--help` output) names `flag`.
fn help_has(help: &str, flag: &str) -> bool {
    flags_in(help).iter().any(|(_, f)| f == flag)
}

/// The `--help` output of an example (for `fleet`, of each subcommand too).
fn helps() -> std::collections::BTreeMap<String, String> {
    let mut helps = std::collections::BTreeMap::new();
    for words in WITH_HELP {
        let (name, sub) = words.split_first().unwrap();
        let mut args: Vec<&str> = sub.to_vec();
        args.push("--help");
        let out = run(name, &args);
        assert_code(&out, EXIT_OK, name);
        helps.insert(words.join(" "), text(&out.stdout));
    }
    helps
}

/// Which README lines fall in which `## ` section.
fn section_of(lines: &[String]) -> Vec<String> {
    let mut current = String::new();
    let mut in_code = false;
    lines
        .iter()
        .map(|l| {
            if l.starts_with("```") {
                in_code = !in_code;
            } else if !in_code && l.starts_with("## ") {
                current = l.trim_start_matches("## ").to_string();
            }
            current.clone()
        })
        .collect()
}

/// The README problems: variables, examples and flags it names that do not exist.
fn readme_problems(readme: &str) -> Vec<String> {
    let names = example_names();
    let helps = helps();
    let mut problems = Vec::new();

    // Every EXO_* variable exists in the source of the library or of an example.
    let mut sources = String::new();
    for dir in ["src", "examples"] {
        let mut stack = vec![manifest_dir().join(dir)];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("source dir").flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    sources.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
                }
            }
        }
    }
    let mut i = 0;
    while let Some(at) = readme[i..].find("EXO_") {
        let start = i + at;
        let var: String = readme[start..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if var.len() > 4 && !sources.contains(&format!("\"{var}\"")) && !sources.contains(&var) {
            problems.push(format!("variable {var} is in no source file"));
        }
        i = start + 4;
    }

    // Every example named exists, and every flag given to it is in its --help.
    let lines = readme_lines(readme);
    let sections = section_of(&lines);
    let cargo_flags = [
        "--example",
        "--release",
        "--features",
        "--all-features",
        "--no-default-features",
        "--all-targets",
        "--workspace",
        "--bench",
        "--no-run",
        "--test",
        "--help",
        // `rustc --version` in the Performance section.
        "--version",
    ];
    let benches: String = std::fs::read_dir(manifest_dir().join("benches"))
        .expect("benches/")
        .flatten()
        .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
        .collect();
    for (n, line) in lines.iter().enumerate() {
        let mut claimed = std::collections::BTreeSet::new();
        for (name, range) in example_mentions(line, &names) {
            let exists =
                names.contains(&name) || manifest_dir().join("examples").join(&name).is_dir();
            if !exists {
                problems.push(format!("line {}: no example {name:?}", n + 1));
                continue;
            }
            let segment = &line[range.clone()];
            // `fleet -- check …` / `fleet check …`: that subcommand's help; else every help
            // of the example.
            let sub = segment
                .trim_start_matches([' ', '-', '['])
                .split(|c: char| !c.is_ascii_alphanumeric())
                .next()
                .unwrap_or("");
            let key = format!("{name} {sub}");
            let help: String = match helps.get(&key) {
                Some(h) => h.clone(),
                None => helps
                    .iter()
                    .filter(|(k, _)| *k == &name || k.starts_with(&format!("{name} ")))
                    .map(|(_, h)| h.as_str())
                    .collect(),
            };
            for (at, flag) in flags_in(segment) {
                claimed.insert(range.start + at);
                if cargo_flags.contains(&flag.as_str()) && line.contains("cargo ") {
                    continue;
                }
                if help.is_empty() {
                    problems.push(format!(
                        "line {}: {name} {flag}: the example has no --help",
                        n + 1
                    ));
                } else if !help_has(&help, &flag) {
                    problems.push(format!(
                        "line {}: {name} has no {flag} (not in its --help)",
                        n + 1
                    ));
                }
            }
        }
        // Flags named elsewhere: the simulator's section describes its flags; any other flag
        // must be one of cargo's, of a benchmark's, or of some example.
        for (at, flag) in flags_in(line) {
            if claimed.contains(&at) || cargo_flags.contains(&flag.as_str()) {
                continue;
            }
            let known = if sections[n].contains("simulator") {
                helps.get("simulator").is_some_and(|h| help_has(h, &flag))
            } else {
                benches.contains(&flag) || helps.values().any(|h| help_has(h, &flag))
            };
            if !known {
                problems.push(format!("line {}: {flag} is no flag of any example", n + 1));
            }
        }
    }
    problems
}

#[test]
fn readme_names_only_variables_examples_and_flags_that_exist() {
    let problems = readme_problems(&readme());
    assert!(
        problems.is_empty(),
        "README drifted:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_readme_check_fails_when_a_flag_variable_or_example_disappears() {
    let readme = readme();
    for (from, to, expect) in [
        (
            "--example wipe_device -- --identity <id>",
            "--example wipe_device -- --identity <id> --track-seconds 30",
            "wipe_device has no --track-seconds",
        ),
        (
            "`inventory --max-concurrency`",
            "`inventory --max-concurrent`",
            "inventory has no --max-concurrent",
        ),
        (
            "`EXO_CLIENT_SECRET`",
            "`EXO_CLIENT_PASSWORD`",
            "variable EXO_CLIENT_PASSWORD is in no source file",
        ),
        (
            "cargo run --example org_settings",
            "cargo run --example org_setting",
            "no example \"org_setting\"",
        ),
        (
            "--example fleet -- check [--tenants FILE]",
            "--example fleet -- check [--tenants FILE] [--with-statistics]",
            "fleet has no --with-statistics",
        ),
    ] {
        assert!(readme.contains(from), "the README no longer has {from:?}");
        let broken = readme.replacen(from, to, 1);
        let problems = readme_problems(&broken);
        assert!(
            problems.iter().any(|p| p.contains(expect)),
            "{expect:?} not found in {problems:#?}"
        );
    }
}

/// The command a figure line names: `cargo bench`, `cargo run`, a script under `benches/` or a
/// release example binary.
fn names_a_command(line: &str) -> bool {
    [
        "cargo bench",
        "cargo run",
        "cargo test",
        "benches/",
        "target/release/examples/",
    ]
    .iter()
    .any(|c| line.contains(c))
}

/// The figure lines of the README's Performance section that name no command.
fn figures_without_command(readme: &str) -> Vec<String> {
    let lines = readme_lines(readme);
    let sections = section_of(&lines);
    let mut in_code = false;
    let mut out = Vec::new();
    for (n, line) in lines.iter().enumerate() {
        if line.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || sections[n] != "Performance" {
            continue;
        }
        let t = line.trim_start();
        let table_row = t.starts_with('|') && !t.starts_with("|---") && n > 0 && {
            // Not the header: the next line is not the separator.
            !lines
                .get(n + 1)
                .is_some_and(|l| l.trim_start().starts_with("|---"))
        };
        let list_item =
            (t.starts_with("- ") || t.starts_with("* ")) && t.chars().any(|c| c.is_ascii_digit());
        if (table_row || list_item) && !names_a_command(line) {
            out.push(format!(
                "line {}: {}",
                n + 1,
                line.chars().take(100).collect::<String>()
            ));
        }
    }
    out
}

#[test]
fn every_figure_line_of_the_performance_section_names_its_command() {
    let readme = readme();
    assert!(
        readme.contains("\n## Performance\n"),
        "no Performance section"
    );
    let missing = figures_without_command(&readme);
    assert!(
        missing.is_empty(),
        "figure lines without the command that reproduces them:\n{}",
        missing.join("\n")
    );
    // The check itself: a row without a command is caught, one with a command is not.
    let probe = "## Performance\n\n| What | Result |\n|---|---|\n| x (`cargo bench --bench x`) | 1 |\n| y | 2 |\n";
    let caught = figures_without_command(probe);
    assert_eq!(caught.len(), 1, "{caught:?}");
    assert!(caught[0].contains("| y | 2 |"), "{caught:?}");
}

/// The codes an example's `--help` explains under "In this example:".
fn codes_in_help(help: &str) -> Vec<String> {
    let notes = help.split("In this example:\n").nth(1).unwrap_or("");
    notes
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| c.chars().all(|ch| ch.is_ascii_digit()))
        .map(str::to_string)
        .collect()
}

#[test]
fn readme_exit_codes_are_the_examples_table_and_each_examples_codes() {
    let readme = readme();
    let section = readme
        .split("\n### Exit codes\n")
        .nth(1)
        .expect("an Exit codes section")
        .split("\n## ")
        .next()
        .unwrap();
    // The table: the same codes and meanings as `common::EXIT_CODES`.
    let mut table = Vec::new();
    let mut entry: Option<(String, String)> = None;
    for line in common::EXIT_CODES.lines().skip(1) {
        let t = line.trim_start();
        let code = t.split_whitespace().next().unwrap_or("");
        if line.starts_with("  ")
            && !line.starts_with("    ")
            && code.chars().all(|c| c.is_ascii_digit())
        {
            table.extend(entry.take());
            entry = Some((code.to_string(), t[code.len()..].trim().to_string()));
        } else if let Some((_, meaning)) = entry.as_mut() {
            meaning.push(' ');
            meaning.push_str(t);
        }
    }
    table.extend(entry);
    assert_eq!(table.len(), 6);
    for (code, meaning) in &table {
        let row = format!("| {code} | {meaning} |");
        assert!(section.contains(&row), "README lacks {row:?}");
    }
    // Each example's row lists exactly the codes its --help explains.
    let helps = helps();
    for name in example_names() {
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("no row for {name} in the README's exit codes"));
        let listed: Vec<String> = row
            .split('|')
            .nth(2)
            .unwrap()
            .split(',')
            .map(|c| c.trim().to_string())
            .collect();
        match helps.get(&name) {
            Some(help) => assert_eq!(listed, codes_in_help(help), "{name}"),
            None => assert_eq!(listed, ["0", "1"], "{name} (no --help)"),
        }
    }
}
