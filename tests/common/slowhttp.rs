//! A throttled HTTP server on 127.0.0.1 serving the files of one directory (GET only, 404 for
//! anything else), so that downloads take long enough to be interrupted. Clients that vanish
//! mid-transfer (a killed ingot) are dropped quietly.
//! Use it with `#[path = "common/slowhttp.rs"] mod slowhttp;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

const CHUNK: usize = 32 << 10;

pub struct SlowServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
}

impl SlowServer {
    /// Serves `dir` at about `bytes_per_second` per connection.
    pub fn start(dir: &Path, bytes_per_second: u64) -> SlowServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let dir = dir.to_path_buf();
        let pause = Duration::from_secs_f64(CHUNK as f64 / bytes_per_second as f64);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let dir = dir.clone();
                std::thread::spawn(move || {
                    let _ = answer(stream, &dir, pause);
                });
            }
        });
        SlowServer { base }
    }

    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }
}

fn answer(mut stream: TcpStream, dir: &Path, pause: Duration) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" {
            break;
        }
    }
    let name = request.split_whitespace().nth(1).unwrap_or("").trim_start_matches('/').to_string();
    let body = if name.is_empty() || name.contains('/') { None } else { std::fs::read(dir.join(&name)).ok() };
    let Some(body) = body else {
        return stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    };
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
    stream.write_all(head.as_bytes())?;
    for chunk in body.chunks(CHUNK) {
        stream.write_all(chunk)?;
        std::thread::sleep(pause);
    }
    Ok(())
}
