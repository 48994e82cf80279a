//! A loopback HTTP server for the fence tests that records every request it gets and
//! answers each with a function of it: the tests count at the server that nothing
//! reached another origin, or production with an unsafe method.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One request a [`Counter`] saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
}

/// A loopback HTTP server that records every request and answers with `answer`.
pub struct Counter {
    pub url: String,
    pub port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

type Answer = dyn Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync;

impl Counter {
    pub fn start(
        answer: impl Fn(&Seen) -> (u16, Vec<(String, String)>, String) + Send + Sync + 'static,
    ) -> Counter {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let recorded = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let recorded = recorded.clone();
                let answer = answer.clone();
                std::thread::spawn(move || serve(stream, &recorded, &*answer));
            }
        });
        Counter {
            url: format!("http://127.0.0.1:{port}"),
            port,
            seen,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    /// Requests whose method is not GET, HEAD or OPTIONS.
    pub fn unsafe_requests(&self) -> usize {
        self.seen()
            .iter()
            .filter(|s| !matches!(s.method.as_str(), "GET" | "HEAD" | "OPTIONS"))
            .count()
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, answer: &Answer) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
            return;
        }
        let request = Seen {
            method,
            path,
            headers,
        };
        seen.lock().expect("lock").push(request.clone());
        let (status, extra, body) = answer(&request);
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-length: {}\r\ncontent-type: application/json\r\n",
            body.len()
        );
        for (k, v) in extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(body.as_bytes()).is_err()
        {
            return;
        }
    }
}

/// Answers the version endpoint with 1.0.0 and everything else with `{}`.
pub fn portal(seen: &Seen) -> (u16, Vec<(String, String)>, String) {
    if seen.path == "/api/phien-ban" {
        (200, vec![], r#"{"version":"1.0.0"}"#.into())
    } else {
        (200, vec![], "{}".into())
    }
}
