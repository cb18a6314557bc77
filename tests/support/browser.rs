//! A browser as the receiver sees one: the head Firefox sends when it follows a redirect, on
//! a keep-alive connection, and the whole answer read back (head and the body its
//! Content-Length announces). Shared by the fairness test and the receiver bench, which
//! includes this file by path; std only.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;

/// Sends a browser's GET for `target` to `host` on `stream`; the whole answer.
pub fn browser_get(mut stream: TcpStream, host: &str, target: &str) -> String {
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {host}\r\n\
         User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
         Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\
         Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n\
         Connection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\n\
         Sec-Fetch-Mode: navigate\r\nSec-Fetch-Site: cross-site\r\nPriority: u=0, i\r\n\r\n"
    )
    .expect("send the request");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let got = stream.read(&mut chunk).unwrap_or(0);
        if got == 0 {
            break;
        }
        answer.extend_from_slice(&chunk[..got]);
        let text = String::from_utf8_lossy(&answer);
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .unwrap_or(0);
            if answer.len() >= end + 4 + length {
                break;
            }
        }
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// Whether the receiver still holds `stream` open without having answered on it.
pub fn still_held(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let held =
        matches!(stream.peek(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    stream.set_nonblocking(false).expect("blocking");
    held
}
