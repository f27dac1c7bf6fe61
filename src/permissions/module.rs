//! The module-file layer: reading the generated module of `EXOModuleFile`, which cmdlets are
//! exported and which parameters each function declares.
//!
//! The scanner is deliberately small and forgiving: it understands quoted strings, comments,
//! nested brackets and `$Name` / `${Name}` declarations, and never fails: text it cannot make
//! sense of simply yields fewer functions.

use std::collections::{BTreeMap, BTreeSet};

use super::report::{Layer, LayerNote, LayerState};
use crate::client::{ExchangeClient, ModuleFile};
use crate::error::Error;

/// What the module file says about the cmdlets exposed to the account.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ModuleView {
    /// Exported cmdlet names, lower-cased (compare case-insensitively).
    exported: BTreeSet<String>,
    /// Declared parameters per function (keyed by lower-cased cmdlet name).
    parameters: BTreeMap<String, BTreeSet<String>>,
}

impl ModuleView {
    /// Build the view from a module file. When `exportedCmdlets` is empty, the function names
    /// found in the files are used as the export list.
    pub fn from_module_file(module: &ModuleFile) -> Self {
        let mut view = ModuleView::default();
        for file in &module.files {
            for (name, params) in parse_functions(&file.content) {
                view.parameters
                    .entry(name.to_ascii_lowercase())
                    .or_default()
                    .extend(params);
            }
        }
        view.exported = module
            .exported_cmdlets
            .iter()
            .map(|c| c.trim().to_ascii_lowercase())
            .filter(|c| !c.is_empty())
            .collect();
        if view.exported.is_empty() {
            view.exported = view.parameters.keys().cloned().collect();
        }
        view
    }

    /// Whether `cmdlet` is exported (case-insensitive).
    pub fn exports(&self, cmdlet: &str) -> bool {
        self.exported.contains(&cmdlet.to_ascii_lowercase())
    }

    /// The parameters the generated function of `cmdlet` declares, when the module carried it.
    pub fn parameters(&self, cmdlet: &str) -> Option<&BTreeSet<String>> {
        self.parameters.get(&cmdlet.to_ascii_lowercase())
    }

    /// Number of exported cmdlets.
    pub fn exported_count(&self) -> usize {
        self.exported.len()
    }

    /// Number of functions whose parameter block was read.
    pub fn parsed_count(&self) -> usize {
        self.parameters.len()
    }
}

/// Parse every `function [script:|global:]Verb-Noun { … param( … ) … }` block of a generated
/// module and return each function's name and declared parameter names, in order of
/// appearance. Never panics; malformed text yields fewer (or no) functions.
pub fn parse_functions(text: &str) -> Vec<(String, Vec<String>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '#' | '\'' | '"' => {
                i = skip_trivia(&chars, i);
                continue;
            }
            '<' if chars.get(i + 1) == Some(&'#') => {
                i = skip_trivia(&chars, i);
                continue;
            }
            c if is_word_start(&chars, i) && c.eq_ignore_ascii_case(&'f') => {
                if let Some((name, body_start)) = function_header(&chars, i) {
                    let body_end = matching(&chars, body_start).unwrap_or(chars.len());
                    let body = &chars[body_start + 1..body_end.min(chars.len())];
                    out.push((name, param_names(body)));
                    i = body_end + 1;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == ':'
}

fn is_word_start(chars: &[char], i: usize) -> bool {
    i == 0 || !is_ident(chars[i - 1])
}

/// `function script:Name {` at `i`: the name and the index of `{`.
fn function_header(chars: &[char], i: usize) -> Option<(String, usize)> {
    const KW: &str = "function";
    let kw: Vec<char> = KW.chars().collect();
    let end = i + kw.len();
    if end > chars.len()
        || !chars[i..end]
            .iter()
            .zip(&kw)
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
    {
        return None;
    }
    let mut j = end;
    if !chars.get(j).is_some_and(|c| c.is_whitespace()) {
        return None;
    }
    while chars.get(j).is_some_and(|c| c.is_whitespace()) {
        j += 1;
    }
    let start = j;
    while chars.get(j).is_some_and(|&c| is_ident(c)) {
        j += 1;
    }
    let mut name: String = chars[start..j].iter().collect();
    if let Some((scope, rest)) = name.split_once(':')
        && ["script", "global", "local", "private"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scope))
    {
        name = rest.to_string();
    }
    if !name.contains('-') || name.starts_with('-') || name.ends_with('-') {
        return None;
    }
    while chars.get(j).is_some_and(|c| c.is_whitespace()) {
        j += 1;
    }
    (chars.get(j) == Some(&'{')).then_some((name, j))
}

/// Skip a comment or string starting at `i`; returns the index just after it.
fn skip_trivia(chars: &[char], i: usize) -> usize {
    match chars[i] {
        '#' => {
            let mut j = i;
            while j < chars.len() && chars[j] != '\n' {
                j += 1;
            }
            j
        }
        '<' => {
            let mut j = i + 2;
            while j + 1 < chars.len() && !(chars[j] == '#' && chars[j + 1] == '>') {
                j += 1;
            }
            (j + 2).min(chars.len())
        }
        '\'' => {
            // '' is an escaped quote inside a single-quoted string
            let mut j = i + 1;
            while j < chars.len() {
                if chars[j] == '\'' {
                    if chars.get(j + 1) == Some(&'\'') {
                        j += 2;
                        continue;
                    }
                    return j + 1;
                }
                j += 1;
            }
            j
        }
        '"' => {
            let mut j = i + 1;
            while j < chars.len() {
                match chars[j] {
                    '`' => j += 2,
                    '"' if chars.get(j + 1) == Some(&'"') => j += 2,
                    '"' => return j + 1,
                    _ => j += 1,
                }
            }
            j.min(chars.len())
        }
        _ => i + 1,
    }
}

/// Index of the bracket closing the one at `open`, skipping strings and comments.
fn matching(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '#' | '\'' | '"' => {
                i = skip_trivia(chars, i);
                continue;
            }
            '<' if chars.get(i + 1) == Some(&'#') => {
                i = skip_trivia(chars, i);
                continue;
            }
            '`' => {
                i += 2;
                continue;
            }
            '{' | '(' | '[' => depth += 1,
            '}' | ')' | ']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The parameter names of the first `param( … )` block in a function body.
fn param_names(body: &[char]) -> Vec<String> {
    let mut i = 0;
    let mut depth = 0usize;
    while i < body.len() {
        match body[i] {
            '#' | '\'' | '"' => {
                i = skip_trivia(body, i);
                continue;
            }
            '<' if body.get(i + 1) == Some(&'#') => {
                i = skip_trivia(body, i);
                continue;
            }
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            c if depth == 0 && c.eq_ignore_ascii_case(&'p') && is_word_start(body, i) => {
                let word: String = body[i..(i + 5).min(body.len())].iter().collect();
                if word.eq_ignore_ascii_case("param") {
                    let mut j = i + 5;
                    while body.get(j).is_some_and(|c| c.is_whitespace()) {
                        j += 1;
                    }
                    if body.get(j) == Some(&'(') {
                        let end = matching(body, j).unwrap_or(body.len());
                        return declarations(&body[j + 1..end.min(body.len())]);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Vec::new()
}

/// Variable declarations at the top level of a param block: the first `$Name`/`${Name}` of
/// each comma-separated item (attributes in `[...]` and default values are skipped).
fn declarations(block: &[char]) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut expecting = true;
    let mut i = 0;
    while i < block.len() {
        match block[i] {
            '#' | '\'' | '"' => {
                i = skip_trivia(block, i);
                continue;
            }
            '<' if block.get(i + 1) == Some(&'#') => {
                i = skip_trivia(block, i);
                continue;
            }
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => expecting = true,
            '$' if depth == 0 && expecting => {
                let (name, next) = variable(block, i + 1);
                if let Some(name) = name {
                    out.push(name);
                    expecting = false;
                }
                i = next;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn variable(chars: &[char], start: usize) -> (Option<String>, usize) {
    if chars.get(start) == Some(&'{') {
        let mut j = start + 1;
        while j < chars.len() && chars[j] != '}' {
            j += 1;
        }
        let name: String = chars[start + 1..j.min(chars.len())].iter().collect();
        let name = name.trim().to_string();
        return ((!name.is_empty()).then_some(name), (j + 1).min(chars.len()));
    }
    let mut j = start;
    while chars
        .get(j)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    {
        j += 1;
    }
    let name: String = chars[start..j].iter().collect();
    ((!name.is_empty()).then_some(name), j.max(start + 1))
}

/// Layer 2: reads `EXOModuleFile` from `client`, noting the layer in `notes`. Without a
/// module file, the reason why.
pub(super) async fn read_layer(
    client: &dyn ExchangeClient,
    notes: &mut Vec<LayerNote>,
) -> (Option<ModuleView>, String) {
    match client.module_file().await {
        Ok(file) => {
            let view = ModuleView::from_module_file(&file);
            notes.push(LayerNote {
                layer: Layer::ModuleFile,
                state: LayerState::Used,
                detail: format!(
                    "{} cmdlet(s) exported, {} parameter block(s) read",
                    view.exported_count(),
                    view.parsed_count()
                ),
            });
            (Some(view), String::new())
        }
        Err(e) => {
            let reason = match e.root() {
                Error::Unsupported(_) => "the client does not support EXOModuleFile".into(),
                other => format!("EXOModuleFile failed: {other}"),
            };
            notes.push(LayerNote {
                layer: Layer::ModuleFile,
                state: LayerState::Unavailable,
                detail: format!("{reason}; falling back to other evidence"),
            });
            (None, reason)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ModuleFileEntry;

    const MODULE: &str = r#"
# helper, not a cmdlet: function Not-Me { param($Nope) }
function script:Execute-Command { param([string]$CmdletName, $Parameters) "x" }
function script:Get-MobileDevice {
    [CmdletBinding(DefaultParameterSetName='Identity')]
    param(
        [Parameter(ParameterSetName='Identity', Position=0, ValueFromPipeline=$true)]
        [System.Object]
        ${Identity},

        [Parameter(Mandatory=$true, ParameterSetName='Mailbox')]
        [ValidateSet('a,b', "c)d")]
        $Mailbox = $null,

        [switch]
        ${ResultSize}
    )
    $s = "function script:Fake-Cmdlet { param($X) }"
    Execute-Command -CmdletName 'Get-MobileDevice' -Parameters $PSBoundParameters
}
function script:get-MobileDeviceMailboxPolicy {
    param(
        <# block comment, $NotAParam #>
        ${Identity}
    )
}
Export-ModuleMember -Function @('Get-MobileDevice', 'get-MobileDeviceMailboxPolicy')
"#;

    #[test]
    fn parses_functions_and_parameters() {
        let f = parse_functions(MODULE);
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Execute-Command",
                "Get-MobileDevice",
                "get-MobileDeviceMailboxPolicy"
            ]
        );
        assert_eq!(f[1].1, ["Identity", "Mailbox", "ResultSize"]);
        assert_eq!(f[2].1, ["Identity"]);
    }

    #[test]
    fn view_compares_case_insensitively() {
        let m = ModuleFile {
            exported_cmdlets: vec![
                "Get-MobileDevice".into(),
                "get-MobileDeviceMailboxPolicy".into(),
            ],
            files: vec![ModuleFileEntry::new("ExchangeOnline.psm1", MODULE)],
        };
        let v = ModuleView::from_module_file(&m);
        assert!(v.exports("Get-MobileDeviceMailboxPolicy"));
        assert!(v.exports("GET-MOBILEDEVICE"));
        assert!(!v.exports("Execute-Command"));
        assert!(
            v.parameters("Get-MobileDeviceMailboxPolicy")
                .unwrap()
                .contains("Identity")
        );
        assert!(v.parameters("Clear-MobileDevice").is_none());
    }

    #[test]
    fn export_list_falls_back_to_function_names() {
        let m = ModuleFile {
            exported_cmdlets: vec![],
            files: vec![ModuleFileEntry::new("m.psm1", MODULE)],
        };
        let v = ModuleView::from_module_file(&m);
        assert!(v.exports("get-mobiledevice"));
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "",
            "function",
            "function ",
            "function A-B",
            "function A-B {",
            "function A-B { param(",
            "function A-B { param( $",
            "function A-B { param( ${",
            "function A-B { param( [x(] $y",
            "'unterminated",
            "\"unterminated `",
            "<# unterminated",
            "function -B { }",
            "function script:A-B { param($X, $Y = $(Get-Z), [int]$W) } ünïcödé",
        ] {
            let _ = parse_functions(text);
        }
        let f = parse_functions("function script:A-B { param($X, $Y = $(Get-Z), [int]$W) }");
        assert_eq!(
            f,
            vec![("A-B".to_string(), vec!["X".into(), "Y".into(), "W".into()])]
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,200}") {
            let _ = parse_functions(&s);
            let _ = parse_functions(&format!("function script:A-B {{ param({s}) }}"));
        }
    }
}
