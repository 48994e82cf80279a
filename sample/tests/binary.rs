//! The sample system's own binary, the one its container image runs
//! (`scripts/build-sample-image`): it takes the whole tool's command line, answers on
//! the address it prints first, and lists its routes.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_stagegate-sample"))
}

#[test]
fn the_image_command_line_serves_health_on_the_address_it_prints() {
    // The image's CMD, with the whole tool's leading `sample-system` word.
    let mut child = binary()
        .args([
            "sample-system",
            "--listen",
            "127.0.0.1:0",
            "--release",
            "9.9.9",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the sample binary");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line: {first:?}"))
        .to_string();
    let mut stream = TcpStream::connect(&addr).expect("connect");
    stream
        .write_all(b"GET /api/phien-ban HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let _ = child.kill();
    let _ = child.wait();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("9.9.9"), "{response}");
}

#[test]
fn routes_lists_the_health_route_and_exits() {
    let out = binary().arg("--routes").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/health"), "{text}");
    assert!(text.contains("/api/phien-ban"), "{text}");
}
