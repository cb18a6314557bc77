//! What `jira-auth api` writes on stdout: a body streamed as Jira sent it (pretty JSON on a
//! terminal), the items of every page as one array or one per line, or what `--jq` makes of
//! them. Items go out as Jira wrote them; only a terminal gets them re-indented.

use std::io::Write;

use serde_json::value::RawValue;

use super::jq::Jq;
use crate::cli::failure::Failure;
use crate::exit::Exit;

/// How the answer is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One answer's body.
    Body,
    /// Every page's items as one JSON array.
    Array,
    /// Every page's items, one per line, as pages arrive.
    Lines,
}

pub struct Out {
    writer: Box<dyn Write>,
    /// Pretty, coloured JSON and no raw control characters: stdout is a terminal.
    terminal: bool,
    jq: Option<Jq>,
    shape: Shape,
    items: usize,
    /// `--paginate --jq`: the array the filter runs on, gathered.
    gathered: Vec<u8>,
}

impl Out {
    pub fn new(shape: Shape, jq: Option<Jq>, terminal: bool, writer: Box<dyn Write>) -> Out {
        Out {
            writer,
            terminal,
            jq,
            shape,
            items: 0,
            gathered: Vec::new(),
        }
    }

    /// `-i`: the status line and headers, as curl shows them.
    pub fn head(&mut self, response: &reqwest::Response) -> std::io::Result<()> {
        writeln!(
            self.writer,
            "{:?} {}",
            response.version(),
            response.status()
        )?;
        for (name, value) in response.headers() {
            self.writer.write_all(name.as_str().as_bytes())?;
            self.writer.write_all(b": ")?;
            self.writer.write_all(&self.safe(value.as_bytes()))?;
            self.writer.write_all(b"\n")?;
        }
        self.writer.write_all(b"\n")
    }

    /// Bytes for the terminal: control characters other than newline and tab shown as `?`.
    fn safe(&self, bytes: &[u8]) -> Vec<u8> {
        if !self.terminal {
            return bytes.to_vec();
        }
        bytes
            .iter()
            .map(|&b| {
                if (b < 0x20 && b != b'\n' && b != b'\t') || b == 0x7f {
                    b'?'
                } else {
                    b
                }
            })
            .collect()
    }

    /// A refused answer's body, for `-i`.
    pub fn raw(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let bytes = self.safe(bytes);
        self.writer.write_all(&bytes)?;
        if !bytes.ends_with(b"\n") {
            self.writer.write_all(b"\n")?;
        }
        self.writer.flush()
    }

    /// One answer's body: streamed through unless it must be read whole (for `--jq`, or to
    /// be indented on a terminal).
    pub async fn body(&mut self, mut response: reqwest::Response) -> Result<(), Failure> {
        let json = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.contains("json"));
        if self.jq.is_some() || (self.terminal && json) {
            let body = read_all(response).await?;
            if self.jq.is_some() {
                return self.filtered(&body);
            }
            return self.json(&body).map_err(Failure::from);
        }
        while let Some(chunk) = response.chunk().await.map_err(broke_off)? {
            let chunk = self.safe(&chunk);
            self.writer.write_all(&chunk)?;
        }
        Ok(self.writer.flush()?)
    }

    /// The items of one page.
    pub fn items(&mut self, items: &[&RawValue]) -> Result<(), Failure> {
        for item in items {
            match self.shape {
                Shape::Lines if self.jq.is_some() => self.filtered(item.get().as_bytes())?,
                Shape::Lines => {
                    self.json(item.get().as_bytes())?;
                }
                Shape::Array if self.jq.is_some() => {
                    self.gathered
                        .push(if self.items == 0 { b'[' } else { b',' });
                    self.gathered.extend_from_slice(item.get().as_bytes());
                }
                Shape::Array | Shape::Body => {
                    self.writer
                        .write_all(if self.items == 0 { b"[\n" } else { b",\n" })?;
                    self.writer.write_all(b"  ")?;
                    self.value(item.get().as_bytes(), 1)?;
                }
            }
            self.items += 1;
        }
        Ok(self.writer.flush()?)
    }

    /// The end of the output: the array closed, or the gathered array filtered.
    pub fn finish(&mut self) -> Result<(), Failure> {
        if self.shape == Shape::Array {
            if self.jq.is_some() {
                if self.items == 0 {
                    self.gathered.push(b'[');
                }
                self.gathered.push(b']');
                let gathered = std::mem::take(&mut self.gathered);
                self.filtered(&gathered)?;
            } else if self.items == 0 {
                self.writer.write_all(b"[]\n")?;
            } else {
                self.writer.write_all(b"\n]\n")?;
            }
        }
        Ok(self.writer.flush()?)
    }

    fn filtered(&mut self, json: &[u8]) -> Result<(), Failure> {
        let jq = self.jq.as_ref().expect("filtered only with --jq");
        let lines = jq
            .run(json)
            .map_err(|e| Failure::new(Exit::Failed, e.to_string()))?;
        for line in lines {
            let line = self.safe(&line);
            self.writer.write_all(&line)?;
            self.writer.write_all(b"\n")?;
        }
        Ok(self.writer.flush()?)
    }

    /// One JSON text on its own line: indented and coloured on a terminal, else as given.
    fn json(&mut self, json: &[u8]) -> std::io::Result<()> {
        self.value(json, 0)?;
        self.writer.write_all(b"\n")
    }

    fn value(&mut self, json: &[u8], level: usize) -> std::io::Result<()> {
        if !self.terminal {
            return self.writer.write_all(json);
        }
        match jaq_json::read::parse_single(json) {
            Ok(value) => {
                let colour = std::env::var_os("NO_COLOR").is_none();
                let pp = jaq_json::write::Pp {
                    indent: Some("  ".to_owned()),
                    sort_keys: false,
                    styles: if colour {
                        jaq_json::write::Styles::ansi()
                    } else {
                        jaq_json::write::Styles::default()
                    },
                    sep_space: true,
                };
                jaq_json::write::write(&mut self.writer, &pp, level, &value)
            }
            Err(_) => {
                let json = self.safe(json);
                self.writer.write_all(&json)
            }
        }
    }
}

/// The whole of an answer's body.
pub async fn read_all(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(broke_off)? {
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// At most `cap` bytes of a body (a refusal's; the rest is left unread).
pub async fn read_capped(mut response: reqwest::Response, cap: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < cap {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(cap);
    body
}

fn broke_off(error: reqwest::Error) -> Failure {
    Failure::new(
        Exit::Temporary,
        format!(
            "Jira's answer broke off: {}; try again",
            crate::jira::send::reason(&error)
        ),
    )
}
