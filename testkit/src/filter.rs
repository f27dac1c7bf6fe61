//! A small OPATH (`-Filter`) parser and evaluator: `-eq`, `-ne`, `-like`, `-notlike`, `-and`,
//! `-or`, `-not` and parentheses over a fixed list of filterable properties (docs/cmdlets.md §0.5).

/// A parsed filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Expr {
    Cmp {
        property: String,
        op: Op,
        value: Option<String>,
    },
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Eq,
    Ne,
    Like,
    NotLike,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    Dash(String),
    Word(String),
    Quoted(String),
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' => {
                chars.next();
                out.push(Tok::Open);
            }
            ')' => {
                chars.next();
                out.push(Tok::Close);
            }
            '\'' | '"' => {
                let q = c;
                chars.next();
                let mut v = String::new();
                loop {
                    match chars.next() {
                        None => return Err("unterminated string literal".into()),
                        Some(x) if x == q => {
                            if chars.peek() == Some(&q) {
                                chars.next();
                                v.push(q);
                            } else {
                                break;
                            }
                        }
                        Some(x) => v.push(x),
                    }
                }
                out.push(Tok::Quoted(v));
            }
            _ => {
                let mut v = String::new();
                while let Some(&x) = chars.peek() {
                    if x.is_whitespace() || x == '(' || x == ')' {
                        break;
                    }
                    v.push(x);
                    chars.next();
                }
                if let Some(op) = v.strip_prefix('-') {
                    out.push(Tok::Dash(op.to_ascii_lowercase()));
                } else {
                    out.push(Tok::Word(v));
                }
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Dash("or".into())) {
            self.next();
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Tok::Dash("and".into())) {
            self.next();
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Tok::Dash(d)) if d == "not" => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Tok::Open) => {
                let e = self.or()?;
                match self.next() {
                    Some(Tok::Close) => Ok(e),
                    _ => Err("missing ')'".into()),
                }
            }
            Some(Tok::Word(property)) => {
                let op = match self.next() {
                    Some(Tok::Dash(op)) => match op.as_str() {
                        "eq" | "ieq" | "ceq" => Op::Eq,
                        "ne" | "ine" | "cne" => Op::Ne,
                        "like" | "ilike" | "clike" => Op::Like,
                        "notlike" => Op::NotLike,
                        other => return Err(format!("the operator '-{other}' is not supported")),
                    },
                    _ => return Err(format!("an operator is expected after '{property}'")),
                };
                let value = match self.next() {
                    Some(Tok::Quoted(v)) => Some(v),
                    Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "$null" => None,
                        "$true" => Some("True".into()),
                        "$false" => Some("False".into()),
                        _ => Some(w),
                    },
                    _ => return Err(format!("a value is expected after '{property}'")),
                };
                Ok(Expr::Cmp {
                    property,
                    op,
                    value,
                })
            }
            Some(t) => Err(format!("unexpected token {t:?}")),
            None => Err("unexpected end of filter".into()),
        }
    }
}

/// Parse a filter and check every property against `allowed` (case-insensitive).
pub(crate) fn parse(filter: &str, allowed: &[&str]) -> Result<Expr, String> {
    let mut p = Parser {
        toks: tokenize(filter)?,
        pos: 0,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected text after position {}", p.pos));
    }
    check(&e, allowed)?;
    Ok(e)
}

fn check(e: &Expr, allowed: &[&str]) -> Result<(), String> {
    match e {
        Expr::Cmp { property, .. } => {
            if allowed.iter().any(|a| a.eq_ignore_ascii_case(property)) {
                Ok(())
            } else {
                Err(format!(
                    "'{property}' is not a recognized filterable property"
                ))
            }
        }
        Expr::And(a, b) | Expr::Or(a, b) => {
            check(a, allowed)?;
            check(b, allowed)
        }
        Expr::Not(a) => check(a, allowed),
    }
}

/// Case-insensitive wildcard match with `*` and `?`.
pub(crate) fn like(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

/// Evaluate against a property resolver (lower-case property name → value).
pub(crate) fn eval(e: &Expr, get: &dyn Fn(&str) -> Option<String>) -> bool {
    match e {
        Expr::Cmp {
            property,
            op,
            value,
        } => {
            let actual = get(&property.to_ascii_lowercase());
            let eq = match (&actual, value) {
                (None, None) => true,
                (Some(a), Some(v)) => a.to_lowercase() == v.to_lowercase(),
                (Some(a), None) => a.is_empty(),
                (None, Some(_)) => false,
            };
            match op {
                Op::Eq => eq,
                Op::Ne => !eq,
                Op::Like | Op::NotLike => {
                    let m = match (&actual, value) {
                        (Some(a), Some(v)) => like(v, a),
                        (None, None) => true,
                        _ => false,
                    };
                    if *op == Op::Like { m } else { !m }
                }
            }
        }
        Expr::And(a, b) => eval(a, get) && eval(b, get),
        Expr::Or(a, b) => eval(a, get) || eval(b, get),
        Expr::Not(a) => !eval(a, get),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_evaluates() {
        let allowed = ["DeviceType", "DeviceModel"];
        let e = parse(
            "DeviceType -eq 'iPhone' -or (DeviceModel -like 'SM-*' -and -not DeviceType -eq 'x')",
            &allowed,
        )
        .unwrap();
        let get = |p: &str| match p {
            "devicetype" => Some("Android".to_string()),
            "devicemodel" => Some("SM-G991B".to_string()),
            _ => None,
        };
        assert!(eval(&e, &get));
        assert!(parse("Bogus -eq 'x'", &allowed).is_err());
        assert!(parse("DeviceType -gt 'x'", &allowed).is_err());
        assert!(parse("DeviceType -eq 'it''s'", &allowed).is_ok());
        assert!(like("a*c?", "abbcd"));
        assert!(!like("a*c", "abd"));
    }
}
