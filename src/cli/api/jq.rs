//! `--jq EXPR` through jaq (jaq-core, jaq-std, jaq-json): a jq written in Rust, with no C
//! library and no regex engine beyond what the tree has. The expression is compiled before
//! any request is made, so a typo costs no call to Jira. Strings print raw, as `gh api --jq`
//! prints them; every other value as one line of JSON.

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

type Native = jaq_core::Native<data::JustLut<Val>>;

pub struct Jq {
    filter: jaq_core::compile::Filter<Native>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JqError {
    #[error("--jq {expr:?} does not parse: {reason}; see jq's manual for the syntax")]
    Parse { expr: String, reason: String },
    #[error("--jq {expr:?} names {reason}")]
    Undefined { expr: String, reason: String },
    #[error("--jq failed on Jira's answer: {0}")]
    Run(String),
    #[error("--jq needs JSON, and Jira's answer is not JSON: {0}")]
    NotJson(String),
}

impl Jq {
    pub fn compile(expr: &str) -> Result<Jq, JqError> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let arena = Arena::default();
        let program = File {
            code: expr,
            path: (),
        };
        let modules = Loader::new(defs)
            .load(&arena, program)
            .map_err(|errors| JqError::Parse {
                expr: expr.to_owned(),
                reason: load_reason(&errors),
            })?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| JqError::Undefined {
                expr: expr.to_owned(),
                reason: errors
                    .iter()
                    .flat_map(|(_, list)| list)
                    .map(|(name, kind)| format!("{} `{name}`, which is not defined", kind.as_str()))
                    .collect::<Vec<_>>()
                    .join("; "),
            })?;
        Ok(Jq { filter })
    }

    /// Runs the filter on one JSON text; each output is one line for stdout.
    pub fn run(&self, json: &[u8]) -> Result<Vec<Vec<u8>>, JqError> {
        let input =
            jaq_json::read::parse_single(json).map_err(|e| JqError::NotJson(e.to_string()))?;
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let mut lines = Vec::new();
        for out in self.filter.id.run((ctx, input)).map(unwrap_valr) {
            let value = out.map_err(|e| JqError::Run(e.to_string()))?;
            lines.push(match value {
                Val::TStr(bytes) | Val::BStr(bytes) => bytes.to_vec(),
                other => other.to_string().into_bytes(),
            });
        }
        Ok(lines)
    }
}

fn load_reason<P>(errors: &jaq_core::load::Errors<&str, P>) -> String {
    use jaq_core::load::Error;
    let mut reasons = Vec::new();
    for (_, error) in errors {
        match error {
            Error::Io(list) => reasons.extend(list.iter().map(|(_, e)| e.clone())),
            Error::Lex(list) => reasons.extend(list.iter().map(|(expect, at)| {
                format!("expected {} at {:?}", expect.as_str(), first_chars(at))
            })),
            Error::Parse(list) => reasons.extend(list.iter().map(|(expect, at)| {
                format!("expected {} at {:?}", expect.as_str(), first_chars(at))
            })),
        }
    }
    reasons.join("; ")
}

/// Where the error is: the rest of the expression from there, shortened.
fn first_chars(rest: &str) -> String {
    if rest.is_empty() {
        return "the end".to_owned();
    }
    rest.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(expr: &str, json: &str) -> Vec<String> {
        Jq::compile(expr)
            .unwrap()
            .run(json.as_bytes())
            .unwrap()
            .into_iter()
            .map(|l| String::from_utf8(l).unwrap())
            .collect()
    }

    #[test]
    fn strings_print_raw_and_values_as_json() {
        let page = r#"{"values":[{"key":"OPS","id":"1"},{"key":"DB","id":"2"}]}"#;
        assert_eq!(lines(".values[].key", page), ["OPS", "DB"]);
        assert_eq!(lines(".values | length", page), ["2"]);
        assert_eq!(lines(".values[0]", page), [r#"{"key":"OPS","id":"1"}"#]);
        assert_eq!(
            lines("[.values[] | select(.id == \"2\") | .key]", page),
            [r#"["DB"]"#]
        );
    }

    #[test]
    fn bad_expressions_are_refused_before_any_request() {
        let e = Jq::compile(".values[").err().unwrap();
        assert!(matches!(e, JqError::Parse { .. }), "{e}");
        let e = Jq::compile("nosuchfilter").err().unwrap();
        assert!(
            e.to_string()
                .contains("`nosuchfilter`, which is not defined"),
            "{e}"
        );
        let run = Jq::compile(".a").unwrap().run(b"not json").unwrap_err();
        assert!(matches!(run, JqError::NotJson(_)));
        let run = Jq::compile("error(\"boom\")")
            .unwrap()
            .run(b"{}")
            .unwrap_err();
        assert!(matches!(run, JqError::Run(_)), "{run}");
    }
}
