//! `ingest dev` as a process, on a copy of the seed spec in a temporary folder, the binary run
//! as installed ([`common::Installed`]: a copy, no cargo on `PATH`, outside the repository): it
//! prints its loopback URLs, answers as the deployed API does, writes good and quarantine
//! objects with the spec's validators, and on SIGTERM flushes, drains, prints a summary and
//! exits 0. Every port is 127.0.0.1:0 and the process is killed if the test fails.

#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

mod common;
use common::workspace_root;
use serde_json::Value;

/// Kills the process when the test ends, whatever happened.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Lines of a pipe, read on a thread of their own.
fn lines_of(pipe: impl Read + Send + 'static) -> Receiver<String> {
    let (send, receive) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// An HTTP/1.1 request on its own connection: the status and the body.
fn http(address: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, body.to_owned())
}

/// The URL after a banner line's label (`  primary    http://127.0.0.1:PORT ...`).
fn address(banner: &[String], label: &str) -> SocketAddr {
    let line = banner
        .iter()
        .find(|l| l.split_whitespace().next() == Some(label))
        .unwrap_or_else(|| panic!("no {label} line in {banner:#?}"));
    let url = line.split_whitespace().nth(1).unwrap();
    url.strip_prefix("http://").unwrap().parse().unwrap()
}

/// Every line of every object under a bucket's folder.
fn object_lines(bucket: &Path) -> Vec<String> {
    let mut lines = Vec::new();
    let mut stack = vec![bucket.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.map(|e| e.unwrap().path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "gz") {
                let mut text = String::new();
                flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap())
                    .read_to_string(&mut text)
                    .unwrap();
                lines.extend(text.lines().map(str::to_owned));
            }
        }
    }
    lines
}

fn event(id: &str, event_type: &str, reason: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"dev-cli-test","type":"{event_type}","data":{{"shift_id":"2eb8aa08-aa98-11ea-b4aa-73b441d16380","deleted_by":7,"reason":"{reason}"}}}}"#
    )
}

fn copy_spec(dir: &Path) -> PathBuf {
    let root = workspace_root();
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    for file in ["schemas/clock.out.json", "schemas/timeoff.requested.yaml"] {
        std::fs::copy(root.join("specs").join(file), dir.join(file)).unwrap();
    }
    let spec = dir.join("ingest.yaml");
    std::fs::copy(root.join("specs/ingest.yaml"), &spec).unwrap();
    spec
}

#[test]
fn dev_serves_both_regions_writes_the_buckets_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let spec = copy_spec(dir.path());
    let out = dir.path().join("out");
    // As installed: a copy of the binary, no cargo on PATH, run outside the repository.
    let installed = common::Installed::new();
    let child = installed
        .command()
        .arg("dev")
        .arg(&spec)
        .args([
            "--port",
            "0",
            "--primary-port",
            "0",
            "--secondary-port",
            "0",
        ])
        .args(["--spool-buffer", "1", "--visibility-timeout", "2"])
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running(child);
    let stdout = lines_of(running.0.stdout.take().unwrap());
    let stderr = lines_of(running.0.stderr.take().unwrap());

    let mut banner = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !banner
        .iter()
        .any(|l: &String| l.trim_start().starts_with("try"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match stdout.recv_timeout(left) {
            Ok(line) => banner.push(line),
            Err(_) => panic!(
                "no banner; stdout {banner:#?}, stderr {:#?}",
                stderr.try_iter().collect::<Vec<_>>()
            ),
        }
    }
    assert!(banner[0].contains("wiw-events"), "{banner:#?}");
    let domain = address(&banner, "domain");
    let primary = address(&banner, "primary");
    let secondary = address(&banner, "secondary");
    for a in [domain, primary, secondary] {
        assert!(a.ip().is_loopback() && a.port() != 0, "{a}");
    }

    let (status, body) = http(primary, "GET", "/health", b"");
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    let post = |to: SocketAddr, body: &str| http(to, "POST", "/events", body.as_bytes());
    let (status, body) = post(primary, &event("dev-1", "shift.deleted", "weather"));
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(answer["shardId"].as_str().unwrap().starts_with("shardId-"));
    assert!(answer["sequenceNumber"].is_string());
    assert_eq!(
        post(primary, &event("dev-2", "shift.deleted", "bored")).0,
        200
    );
    let batch = format!(
        "[{},{}]",
        event("dev-3", "shift.deleted", "duplicate"),
        event("dev-4", "shift.exploded", "other")
    );
    assert_eq!(post(primary, &batch).0, 200);
    assert_eq!(
        post(secondary, &event("dev-5", "shift.deleted", "cancelled")).0,
        200
    );
    assert_eq!(
        post(domain, &event("dev-6", "shift.deleted", "other")).0,
        200
    );
    let (status, body) = post(primary, &"x".repeat(262_145));
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("payload_too_large"), "{body}");
    assert_eq!(post(primary, "").0, 400);

    let good = out.join("wiw-events-good-123456789012-us-east-1");
    let quarantine = out.join("wiw-events-quarantine-123456789012-us-east-1");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let good_lines = object_lines(&good);
        let quarantine_lines = object_lines(&quarantine);
        if good_lines.len() == 4 && quarantine_lines.len() == 2 {
            for id in ["dev-1", "dev-3", "dev-5", "dev-6"] {
                let needle = format!(r#""id":"{id}""#);
                assert!(good_lines.iter().any(|l| l.contains(&needle)), "{id}");
            }
            let kinds: Vec<Value> = quarantine_lines
                .iter()
                .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].clone())
                .collect();
            assert!(
                kinds.contains(&Value::from("schema_violation")),
                "{kinds:?}"
            );
            assert!(kinds.contains(&Value::from("unknown_type")), "{kinds:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "good {good_lines:#?}\nquarantine {quarantine_lines:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        good.join("events/type=shift.deleted").is_dir(),
        "the real key layout"
    );

    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = running.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    };
    let rest: Vec<String> = stdout.iter().collect();
    let log: Vec<String> = stderr.iter().collect();
    assert_eq!(status.code(), Some(0), "stdout {rest:#?}\nstderr {log:#?}");
    let summary = rest.join("\n");
    assert!(
        summary.contains("stopped: 5 requests accepted"),
        "{summary}"
    );
    assert!(
        summary.contains("2 refused (1 too large, 1 bad"),
        "{summary}"
    );
    assert!(
        summary.contains("delivered: everything accepted"),
        "{summary}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("us-east-1 primary validator shardId-") && l.contains("good=")),
        "{log:#?}"
    );
}
