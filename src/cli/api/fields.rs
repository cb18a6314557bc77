//! `-f key=value` and `-F key=value`, as `gh api` reads them: a JSON object for a body, or
//! query parameters for a GET. Keys nest (`fields[summary]=…`, `labels[]=a`); `-F` types its
//! value (`true`, `false`, `null`, numbers, `@file` for a file's contents, `@-` for stdin).

use serde_json::{Map, Value};

/// One field as given on the command line, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `-f`: the value is a string, always.
    Raw(String),
    /// `-F`: the value is typed.
    Typed(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FieldError {
    #[error("{flag} {given:?} has no `=`; write {flag} key=value")]
    NoEquals { flag: &'static str, given: String },
    #[error(
        "{flag} {given:?} has a key Jira cannot take; write a name, then [name] or [] parts, e.g. fields[summary]=Hello or labels[]=a"
    )]
    BadKey { flag: &'static str, given: String },
    #[error(
        "{flag} {given:?} puts a value where an earlier field made {what}; give each key one shape"
    )]
    Clash {
        flag: &'static str,
        given: String,
        what: &'static str,
    },
    #[error("cannot read {path} for -F: {reason}")]
    File { path: String, reason: String },
}

/// Where `@file` values come from: the file system, and stdin for `@-` (read once).
pub trait Files {
    fn read(&mut self, path: &str) -> Result<String, String>;
}

/// The real file system and stdin.
pub struct Disk;

impl Files for Disk {
    fn read(&mut self, path: &str) -> Result<String, String> {
        let bytes = if path == "-" {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes)
                .map(|_| bytes)
                .map_err(|e| e.to_string())?
        } else {
            std::fs::read(path).map_err(|e| e.to_string())?
        };
        String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_owned())
    }
}

impl Field {
    fn flag(&self) -> &'static str {
        match self {
            Field::Raw(_) => "-f",
            Field::Typed(_) => "-F",
        }
    }

    fn given(&self) -> &str {
        match self {
            Field::Raw(s) | Field::Typed(s) => s,
        }
    }

    /// The key's parts and the value, typed for `-F`.
    fn split(&self, files: &mut dyn Files) -> Result<(Vec<Part>, Value), FieldError> {
        let flag = self.flag();
        let given = self.given();
        let (key, text) = given.split_once('=').ok_or_else(|| FieldError::NoEquals {
            flag,
            given: given.to_owned(),
        })?;
        let parts = parse_key(key).ok_or_else(|| FieldError::BadKey {
            flag,
            given: given.to_owned(),
        })?;
        let value = match self {
            Field::Raw(_) => Value::String(text.to_owned()),
            Field::Typed(_) => typed(text, files)?,
        };
        Ok((parts, value))
    }
}

/// `-F`'s reading of a value.
fn typed(text: &str, files: &mut dyn Files) -> Result<Value, FieldError> {
    Ok(match text {
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        "null" => Value::Null,
        _ if text.starts_with('@') => {
            let path = &text[1..];
            Value::String(files.read(path).map_err(|reason| FieldError::File {
                path: if path == "-" {
                    "stdin".to_owned()
                } else {
                    path.to_owned()
                },
                reason,
            })?)
        }
        _ => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => match text.parse::<f64>() {
                // Only plain decimals: `inf`, `NaN` and `1e5` stay strings, as in gh.
                Ok(f)
                    if f.is_finite()
                        && text
                            .bytes()
                            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-') =>
                {
                    serde_json::Number::from_f64(f)
                        .map_or_else(|| Value::String(text.to_owned()), Value::Number)
                }
                _ => Value::String(text.to_owned()),
            },
        },
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Name(String),
    /// `[]`: append to an array.
    Push,
}

/// `a`, `a[b]`, `a[b][c]`, `a[]`, `a[b][]`: a name, then bracketed names, `[]` only last.
fn parse_key(key: &str) -> Option<Vec<Part>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() || head.contains(']') {
        return None;
    }
    let mut parts = vec![Part::Name(head.to_owned())];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let end = inner.find(']')?;
        let name = &inner[..end];
        if name.contains('[') || matches!(parts.last(), Some(Part::Push)) {
            return None;
        }
        parts.push(if name.is_empty() {
            Part::Push
        } else {
            Part::Name(name.to_owned())
        });
        rest = &inner[end + 1..];
    }
    Some(parts)
}

/// The fields as one JSON object, in the order given.
pub fn body(fields: &[Field], files: &mut dyn Files) -> Result<Map<String, Value>, FieldError> {
    let mut object = Map::new();
    for field in fields {
        let (parts, value) = field.split(files)?;
        let clash = |what| FieldError::Clash {
            flag: field.flag(),
            given: field.given().to_owned(),
            what,
        };
        place(&mut object, &parts, value).map_err(clash)?;
    }
    Ok(object)
}

/// Puts `value` at `parts` under `object`; the error says what stood in the way.
fn place(
    object: &mut Map<String, Value>,
    parts: &[Part],
    value: Value,
) -> Result<(), &'static str> {
    let (Part::Name(name), rest) = (&parts[0], &parts[1..]) else {
        unreachable!("a key starts with a name")
    };
    match rest.first() {
        None => {
            if object
                .get(name)
                .is_some_and(|v| v.is_object() || v.is_array())
            {
                return Err("an object or array of it");
            }
            object.insert(name.clone(), value);
            Ok(())
        }
        Some(Part::Push) => {
            let slot = object
                .entry(name.clone())
                .or_insert_with(|| Value::Array(Vec::new()));
            let Value::Array(items) = slot else {
                return Err("it something other than an array");
            };
            items.push(value);
            Ok(())
        }
        Some(Part::Name(_)) => {
            let slot = object
                .entry(name.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(inner) = slot else {
                return Err("it something other than an object");
            };
            place(inner, rest, value)
        }
    }
}

/// The fields as query parameters for a GET: `a[b]=c` stays as Jira's query syntax knows
/// none, so keys are sent as written and arrays as repeated keys (`labels[]=a` → `labels=a`).
pub fn query(fields: &[Field], files: &mut dyn Files) -> Result<Vec<(String, String)>, FieldError> {
    let mut pairs = Vec::new();
    for field in fields {
        let (parts, value) = field.split(files)?;
        let mut key = String::new();
        for part in &parts {
            match part {
                Part::Name(name) if key.is_empty() => key.push_str(name),
                Part::Name(name) => {
                    key.push('[');
                    key.push_str(name);
                    key.push(']');
                }
                Part::Push => {}
            }
        }
        let value = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        pairs.push((key, value));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    struct NoFiles;
    impl Files for NoFiles {
        fn read(&mut self, path: &str) -> Result<String, String> {
            match path {
                "summary.txt" => Ok("from a file\n".into()),
                _ => Err("No such file or directory (os error 2)".into()),
            }
        }
    }

    fn raw(s: &str) -> Field {
        Field::Raw(s.into())
    }
    fn typed_field(s: &str) -> Field {
        Field::Typed(s.into())
    }

    #[test]
    fn fields_build_nested_json_in_order() {
        let fields = [
            raw("fields[project][key]=OPS"),
            raw("fields[summary]=Disk full"),
            typed_field("fields[priority][id]=3"),
            raw("fields[labels][]=pager"),
            raw("fields[labels][]=db"),
            typed_field("notify=false"),
            typed_field("parent=null"),
            typed_field("ratio=0.5"),
            typed_field("text=@summary.txt"),
            raw("count=3"),
        ];
        let body = body(&fields, &mut NoFiles).unwrap();
        assert_eq!(
            Value::Object(body),
            json!({
                "fields": {
                    "project": {"key": "OPS"},
                    "summary": "Disk full",
                    "priority": {"id": 3},
                    "labels": ["pager", "db"],
                },
                "notify": false,
                "parent": null,
                "ratio": 0.5,
                "text": "from a file\n",
                "count": "3",
            })
        );
    }

    #[test]
    fn typed_values_that_are_not_plain_stay_strings() {
        for text in ["1e5", "inf", "NaN", "0x10", "12abc", "", "True"] {
            assert_eq!(typed(text, &mut NoFiles).unwrap(), json!(text), "{text}");
        }
        assert_eq!(typed("-7", &mut NoFiles).unwrap(), json!(-7));
    }

    #[test]
    fn bad_fields_name_the_flag_and_the_fix() {
        let e = body(&[raw("summary")], &mut NoFiles).unwrap_err();
        assert_eq!(
            e.to_string(),
            "-f \"summary\" has no `=`; write -f key=value"
        );
        for key in [
            "=x", "[a]=x", "a[b=x", "a]=x", "a[]x=1", "a[][b]=1", "a[[b]]=1",
        ] {
            assert!(
                matches!(
                    body(&[raw(key)], &mut NoFiles),
                    Err(FieldError::BadKey { .. })
                ),
                "{key}"
            );
        }
        let e = body(&[raw("a=1"), raw("a[b]=2")], &mut NoFiles).unwrap_err();
        assert!(matches!(e, FieldError::Clash { .. }), "{e}");
        let e = body(&[raw("a[]=1"), raw("a=2")], &mut NoFiles).unwrap_err();
        assert!(matches!(e, FieldError::Clash { .. }), "{e}");
        let e = body(&[typed_field("a=@missing")], &mut NoFiles).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot read missing for -F: No such file or directory (os error 2)"
        );
    }

    #[test]
    fn get_fields_are_query_parameters() {
        let pairs = query(
            &[
                raw("jql=project = OPS"),
                typed_field("maxResults=50"),
                raw("expand[]=names"),
            ],
            &mut NoFiles,
        )
        .unwrap();
        assert_eq!(
            pairs,
            [
                ("jql".to_owned(), "project = OPS".to_owned()),
                ("maxResults".to_owned(), "50".to_owned()),
                ("expand".to_owned(), "names".to_owned()),
            ]
        );
    }

    proptest! {
        /// Whatever is pasted into a field, reading it gives a sentence or a body, never a
        /// panic; and a plain key's value arrives exactly as given.
        #[test]
        fn any_field_text_is_read_without_panicking(text in "\\PC{0,40}", value in "\\PC{0,20}") {
            let _ = body(&[Field::Raw(text.clone()), Field::Typed(text.clone())], &mut NoFiles);
            let _ = query(&[Field::Typed(text)], &mut NoFiles);
            let body = body(&[Field::Raw(format!("k={value}"))], &mut NoFiles).unwrap();
            prop_assert_eq!(body.get("k"), Some(&Value::String(value)));
        }
    }
}
