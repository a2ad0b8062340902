//! `ingest dev` in process: the three loopback ports answer as the deployed API does, the
//! handlers write good and quarantine objects in the real key layout under the output folder,
//! the domain splits by weight and obeys the lever, and stopping flushes the spool and drains.
//! Every server listens on 127.0.0.1 port 0 and is stopped by its test (or on drop).

mod pipeline_common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ingest_runtime::pipeline::dev::{
    DevConfig, DevLimits, DevOptions, DevPorts, DevServer, LEVER_HEADER,
};
use ingest_runtime::pipeline::local::{LocalStore, PipelineSettings, RegionSettings, Role};
use ingest_runtime::pipeline::records::{QuarantineLine, gunzip_if_gzip, split_good_line};
use pipeline_common::{REGISTRY, note, punch};
use serde_json::Value;

const MAX_EVENT_BYTES: usize = 400;

fn config(primary_weight: u64, secondary_weight: u64, spool_buffer_seconds: u64) -> DevConfig {
    DevConfig {
        pipeline: PipelineSettings {
            name: "devtest".to_owned(),
            primary: RegionSettings {
                region: "us-east-1".to_owned(),
                shards: 2,
                weight: primary_weight,
                retention_hours: 24,
            },
            secondary: RegionSettings {
                region: "us-west-2".to_owned(),
                shards: 1,
                weight: secondary_weight,
                retention_hours: 24,
            },
            max_event_bytes: MAX_EVENT_BYTES,
            validator_batch_size: 100,
            validator_max_retries: None,
            validator_max_record_age_seconds: 86_400,
            receiver_batch_size: 100,
            receiver_max_retries: None,
            receiver_max_record_age_seconds: 0,
            bridge_batch_size: 10,
            bridge_max_concurrency: 2,
            bridge_chunk_bytes: 5 * 1024 * 1024,
            visibility_timeout_seconds: 1,
            max_receive_count: 1000,
            queue_retention_seconds: 86_400,
            bridge_redelivery: None,
            spool_buffer_seconds,
            spool_buffer_mb: 1,
            spool_quota_bytes_per_second: None,
            validator_timeout_seconds: None,
            receiver_timeout_seconds: None,
            bridge_timeout_seconds: None,
            dlq_retention_seconds: None,
            failed_retention_days: None,
        },
        failover_automatic: true,
    }
}

type Logs = Arc<Mutex<Vec<String>>>;

fn start(out: &Path, config: DevConfig) -> (DevServer, Logs) {
    start_with(out, config, DevLimits::default())
}

fn start_with(out: &Path, config: DevConfig, limits: DevLimits) -> (DevServer, Logs) {
    let logs: Logs = Arc::default();
    let sink = Arc::clone(&logs);
    let options = DevOptions {
        ports: DevPorts {
            domain: 0,
            primary: 0,
            secondary: 0,
        },
        stop_on_signals: false,
        log: Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
        limits,
        ..DevOptions::new(out)
    };
    let server = DevServer::start(&REGISTRY, config, options).unwrap();
    (server, logs)
}

/// An HTTP/1.1 answer: status, headers (lower-case names), body.
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One request on its own connection (`Connection: close`), read to the end.
fn http(
    address: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> Answer {
    let content_type = content_type.map(|t| ("Content-Type", t));
    http_with(address, method, path, content_type.as_slice(), body)
}

/// One request with these headers (and `Host: <address>` unless they name a host) on its own
/// connection, read to the end.
fn http_with(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("Host: {address}\r\n"));
    }
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "Connection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_owned(),
    }
}

fn post(address: SocketAddr, body: &str) -> Answer {
    http(
        address,
        "POST",
        "/events",
        Some("application/json"),
        body.as_bytes(),
    )
}

/// Every line of every object of a bucket under a prefix, with the object's key.
fn lines(out: &Path, bucket: &str, prefix: &str) -> Vec<(String, Vec<u8>)> {
    let store = LocalStore::dir(out);
    let mut all = Vec::new();
    for key in store.list(bucket, prefix) {
        let text = gunzip_if_gzip(&store.read(bucket, &key).unwrap()).unwrap();
        for line in text.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            all.push((key.clone(), line.to_vec()));
        }
    }
    all
}

/// Polls until `done` holds, for at most `limit`.
fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const GOOD: &str = "devtest-good-123456789012-us-east-1";
const QUARANTINE: &str = "devtest-quarantine-123456789012-us-east-1";
const SPOOL: &str = "devtest-spool-123456789012-us-west-2";

#[test]
fn regions_answer_like_the_api_and_write_good_and_quarantine_files() {
    let out = tempfile::tempdir().unwrap();
    let (server, logs) = start(out.path(), config(95, 5, 1));
    let addresses = server.addresses();
    assert!(addresses.primary.ip().is_loopback());
    assert_ne!(addresses.primary.port(), 0);

    for role in Role::BOTH {
        let health = http(addresses.region(role), "GET", "/health", None, b"");
        assert_eq!(health.status, 200);
        assert_eq!(health.json()["status"], "ok");
    }

    // A valid event: 200 with where Kinesis put it.
    let valid = punch("app/1", 1, 7);
    let answer = post(addresses.primary, &valid);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let put = answer.json();
    assert_eq!(put["accepted"], true);
    assert!(
        ["shardId-000000000000", "shardId-000000000001"]
            .contains(&put["shardId"].as_str().unwrap()),
        "{put}"
    );
    assert!(put["sequenceNumber"].as_str().unwrap().starts_with("4959"));
    assert_eq!(put["requestId"].as_str().unwrap().len(), 36);
    assert_eq!(answer.headers["x-ingest-region"], "us-east-1");

    // An invalid event is accepted too: it is data, for quarantine.
    let invalid = punch("app/1", 2, 0);
    assert_eq!(post(addresses.primary, &invalid).status, 200);
    // An array with one bad event: one record, split by the validator.
    let good_in_batch = punch("app/2", 3, 9);
    let bad_in_batch = note("app/2", 4, "this note is far too long");
    let batch = format!("[{good_in_batch},{bad_in_batch}]");
    let answer = http(
        addresses.primary,
        "POST",
        "/events",
        Some("application/cloudevents-batch+json; charset=utf-8"),
        batch.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    // No content type is JSON, as API Gateway takes it.
    let untyped = note("app/3", 5, "é is one character");
    let answer = http(
        addresses.primary,
        "POST",
        "/events",
        None,
        untyped.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);

    // Over the limit in bytes, as the API counts them (loss path 6): 413, nothing accepted.
    let oversized = note("app/3", 6, &"x".repeat(MAX_EVENT_BYTES));
    let answer = post(addresses.primary, &oversized);
    assert_eq!(answer.status, 413);
    assert_eq!(answer.json()["error"], "payload_too_large");
    assert_eq!(answer.json()["maxEventBytes"], MAX_EVENT_BYTES);
    // Fewer characters than the limit, but more bytes: refused too (it used to pass).
    let wide = "é".repeat(MAX_EVENT_BYTES - 10);
    assert!(wide.chars().count() < MAX_EVENT_BYTES && wide.len() > MAX_EVENT_BYTES);
    assert_eq!(post(addresses.primary, &wide).status, 413);
    let fits = "é".repeat(MAX_EVENT_BYTES / 2);
    assert_eq!(post(addresses.primary, &fits).status, 200);
    // Empty, the wrong content type, the wrong method, an unknown path.
    let answer = post(addresses.primary, "");
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"], "empty_body");
    let answer = http(
        addresses.primary,
        "POST",
        "/events",
        Some("text/plain"),
        valid.as_bytes(),
    );
    assert_eq!(answer.status, 415);
    let answer = http(addresses.secondary, "GET", "/events", None, b"");
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers["allow"], "POST");
    assert_eq!(
        http(addresses.primary, "POST", "/health", None, b"").status,
        405
    );
    assert_eq!(
        http(addresses.primary, "GET", "/nothing", None, b"").status,
        404
    );
    // The lever lives on the domain only.
    assert_eq!(
        http(addresses.primary, "GET", "/lever", None, b"").status,
        404
    );

    // The secondary spools; the spool writes after a second; the bridge hands it over.
    let via_secondary = punch("app/4", 7, 11);
    let answer = post(addresses.secondary, &via_secondary);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["x-ingest-region"], "us-west-2");

    eventually(Duration::from_secs(20), "good and quarantine lines", || {
        lines(out.path(), GOOD, "events/").len() == 4
            && lines(out.path(), QUARANTINE, "").len() == 3
    });
    let good = lines(out.path(), GOOD, "events/");
    for (key, _) in &good {
        let parts: Vec<&str> = key.split('/').collect();
        assert_eq!(parts[0], "events");
        assert!(
            parts[1] == "type=clock.in" || parts[1] == "type=note.added",
            "{key}"
        );
        assert!(
            parts[2].starts_with("dt=20") && parts[3].starts_with("hr="),
            "{key}"
        );
        assert!(
            parts[4].starts_with("us-east-1-shardId-")
                || parts[4].starts_with("us-west-2-shardId-"),
            "{key}"
        );
        assert!(parts[4].ends_with(".json.gz"), "{key}");
    }
    let mut received: Vec<(Vec<u8>, String, String)> = good
        .iter()
        .map(|(_, line)| {
            let (event, ingest) = split_good_line(line).unwrap();
            let ingest: Value = serde_json::from_slice(&[b"{", ingest, b"}"].concat()).unwrap();
            let ingest = &ingest["ingest"];
            let received_at = ingest["received_at"].as_str().unwrap();
            assert!(received_at.starts_with("20"), "{received_at}");
            let via = ingest["via"].as_str().unwrap().to_owned();
            (event, via, ingest["region"].as_str().unwrap().to_owned())
        })
        .collect();
    received.sort();
    // Each good line keeps the event's bytes and says where it was received and how it came.
    let mut sent: Vec<(Vec<u8>, String, String)> = [
        (&valid, "direct", "us-east-1"),
        (&good_in_batch, "direct", "us-east-1"),
        (&untyped, "direct", "us-east-1"),
        (&via_secondary, "bridge", "us-west-2"),
    ]
    .into_iter()
    .map(|(event, via, region)| (event.as_bytes().to_vec(), via.to_owned(), region.to_owned()))
    .collect();
    sent.sort();
    assert_eq!(received, sent);

    let mut quarantined: Vec<(String, String)> = lines(out.path(), QUARANTINE, "")
        .iter()
        .map(|(key, line)| {
            assert!(key.starts_with("dt=20"), "{key}");
            let line: QuarantineLine = serde_json::from_slice(line).unwrap();
            let original = String::from_utf8(line.original_bytes().unwrap()).unwrap();
            (line.kind, original)
        })
        .collect();
    quarantined.sort();
    let mut expected = vec![
        ("schema_violation".to_owned(), invalid.clone()),
        ("schema_violation".to_owned(), bad_in_batch.clone()),
        // The API and the validator count bytes alike: a body of exactly the limit is
        // accepted, and quarantined for what it is (not JSON), not for its size.
        ("not_json".to_owned(), fits.clone()),
    ];
    expected.sort();
    assert_eq!(quarantined, expected, "reasons and original bytes");
    assert!(!lines(out.path(), SPOOL, "spool/").is_empty());

    let log = logs.lock().unwrap().join("\n");
    assert!(
        log.contains("us-east-1 primary validator shardId-") && log.contains("good=1"),
        "{log}"
    );
    assert!(log.contains("us-west-2 secondary receiver"), "{log}");
    assert!(
        log.contains("us-west-2 secondary spool: records=1"),
        "{log}"
    );
    assert!(
        log.contains("us-west-2 secondary bridge: messages=1 good=1"),
        "{log}"
    );

    let summary = server.stop();
    assert_eq!(summary.requests.accepted["primary"], 5);
    assert_eq!(summary.requests.accepted["secondary"], 1);
    assert_eq!(
        summary.requests.too_large, 2,
        "over the limit in characters, and in bytes"
    );
    assert_eq!(summary.requests.bad_request, 1);
    assert_eq!(summary.requests.unsupported_media_type, 1);
    assert!(summary.delivered(), "{}", summary.render());
    assert!(summary.render().contains("delivered: everything accepted"));
}

fn role_of(answer: &Answer) -> String {
    answer.headers["x-ingest-role"].clone()
}

#[test]
fn the_domain_splits_by_weight_follows_the_lever_and_stopping_delivers_everything() {
    let out = tempfile::tempdir().unwrap();
    // An hour of spool buffering: what the secondary takes stays buffered until the stop.
    let (server, logs) = start(out.path(), config(3, 1, 3600));
    let domain = server.addresses().domain;
    let mut accepted_ids = Vec::new();
    let mut next_id = 0;
    let mut send = |to: SocketAddr| {
        next_id += 1;
        let answer = post(to, &punch("split", next_id, 1));
        if answer.status == 200 {
            accepted_ids.push(next_id.to_string());
        }
        answer
    };

    // 3:1 among the regions in DNS: about 150 of 200 to the primary.
    let mut by_role = BTreeMap::<String, usize>::new();
    for _ in 0..200 {
        let answer = send(domain);
        assert_eq!(answer.status, 200, "{}", answer.body);
        *by_role.entry(role_of(&answer)).or_default() += 1;
    }
    assert!((120..=180).contains(&by_role["primary"]), "{by_role:?}");
    assert_eq!(by_role["primary"] + by_role["secondary"], 200);

    // Drain the primary: everything goes to the secondary. Draining both is refused.
    let lever = |path: &str| http_with(domain, "POST", path, &[(LEVER_HEADER, "1")], b"");
    let answer = lever("/lever/drain/primary");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["primary"]["drained"], true);
    assert_eq!(answer.json()["primary"]["in_dns"], false);
    let answer = lever("/lever/drain/secondary");
    assert_eq!(answer.status, 409, "{}", answer.body);
    for _ in 0..20 {
        assert_eq!(role_of(&send(domain)), "secondary");
    }
    assert_eq!(
        role_of(&http(domain, "GET", "/health", None, b"")),
        "secondary"
    );
    assert_eq!(lever("/lever/restore/primary").status, 200);
    assert_eq!(lever("/lever/drain/nowhere").status, 404);
    assert_eq!(lever("/lever/flip/primary").status, 404);
    assert_eq!(
        http(domain, "GET", "/lever/drain/primary", None, b"").status,
        405
    );

    // The primary goes down: its API answers 503, its health fails, and the domain fails
    // over to the secondary (failover is automatic).
    assert_eq!(lever("/lever/outage/primary").status, 200);
    let primary = server.addresses().primary;
    let health = http(primary, "GET", "/health", None, b"");
    assert_eq!(health.status, 503);
    assert_eq!(health.json()["status"], "unavailable");
    let refused = send(primary);
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["retry"], true);
    for _ in 0..20 {
        let answer = send(domain);
        assert_eq!(answer.status, 200);
        assert_eq!(role_of(&answer), "secondary");
    }
    let state = http(domain, "GET", "/lever", None, b"").json();
    assert_eq!(state["primary"]["down"], true);
    assert_eq!(state["primary"]["in_dns"], false);
    assert_eq!(state["secondary"]["in_dns"], true);

    // Stop with the primary still down and the secondary's records in the spool's buffer:
    // the outage ends, the spool is flushed, the bridge delivers, nothing is left.
    let summary = server.stop();
    assert!(summary.delivered(), "{}", summary.render());
    let accepted: u64 = summary.requests.accepted.values().sum();
    assert_eq!(accepted as usize, accepted_ids.len());
    assert_eq!(accepted, 240);
    assert_eq!(summary.requests.unavailable, 1);
    assert!(summary.spool_objects >= 1);
    let log = logs.lock().unwrap().join("\n");
    assert!(log.contains("lever: drain primary (us-east-1)"), "{log}");
    assert!(log.contains("lever: outage primary (us-east-1)"), "{log}");
    assert!(log.contains("the primary outage ends"), "{log}");

    let mut good_ids = Vec::new();
    let mut via = BTreeMap::<String, usize>::new();
    for (_, line) in lines(out.path(), GOOD, "events/") {
        let (event, ingest) = split_good_line(&line).unwrap();
        let event: Value = serde_json::from_slice(&event).unwrap();
        good_ids.push(event["id"].as_str().unwrap().to_owned());
        let ingest: Value = serde_json::from_slice(&[b"{", ingest, b"}"].concat()).unwrap();
        *via.entry(ingest["ingest"]["via"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    good_ids.sort();
    accepted_ids.sort();
    assert_eq!(good_ids, accepted_ids, "every accepted event is good, once");
    assert_eq!(via["bridge"], by_role["secondary"] + 40);
}

/// The lever as the server saw it: who is drained, who is in DNS.
fn lever_state(domain: SocketAddr) -> Value {
    let state = http(domain, "GET", "/lever", None, b"");
    assert_eq!(state.status, 200, "{}", state.body);
    state.json()
}

#[test]
fn a_web_page_can_neither_pull_the_lever_nor_read_the_ports() {
    let out = tempfile::tempdir().unwrap();
    let (server, logs) = start(out.path(), config(95, 5, 1));
    let addresses = server.addresses();
    let domain = addresses.domain;
    let port = domain.port().to_string();
    let before = lever_state(domain);
    assert_eq!(before["primary"]["drained"], false);

    // DNS rebinding: a page at evil.example whose name now resolves to 127.0.0.1 sends its
    // own Host, on every port and route.
    let evil_host = format!("evil.example:{port}");
    for (address, method, path) in [
        (domain, "POST", "/lever/drain/primary"),
        (domain, "GET", "/lever"),
        (domain, "POST", "/events"),
        (addresses.primary, "GET", "/health"),
        (addresses.secondary, "POST", "/events"),
    ] {
        let answer = http_with(
            address,
            method,
            path,
            &[("Host", &evil_host), (LEVER_HEADER, "1")],
            br#"{"id":"1"}"#,
        );
        assert_eq!(answer.status, 403, "{method} {path}: {}", answer.body);
        assert_eq!(answer.json()["error"], "forbidden_host");
    }
    // Another port of this host is another server.
    let other_port = format!("127.0.0.1:{}", addresses.primary.port());
    let answer = http_with(domain, "GET", "/lever", &[("Host", &other_port)], b"");
    assert_eq!(answer.status, 403, "{}", answer.body);
    // `localhost` is this host.
    let localhost = format!("localhost:{port}");
    let answer = http_with(domain, "GET", "/lever", &[("Host", &localhost)], b"");
    assert_eq!(answer.status, 200, "{}", answer.body);

    // CSRF: a page of another origin posting to the lever, with what browsers send.
    let own_origin = format!("http://127.0.0.1:{port}");
    let pulls: [(&[(&str, &str)], &str); 5] = [
        (&[], "X-Ingest-Lever"),
        (&[("Content-Type", "text/plain")], "X-Ingest-Lever"),
        (
            &[(LEVER_HEADER, "1"), ("Origin", "http://evil.example")],
            "http://evil.example",
        ),
        (
            &[(LEVER_HEADER, "1"), ("Origin", "null")],
            "web page at null",
        ),
        (
            &[(LEVER_HEADER, "1"), ("Sec-Fetch-Site", "cross-site")],
            "cross-site",
        ),
    ];
    for (headers, why) in pulls {
        let answer = http_with(domain, "POST", "/lever/drain/primary", headers, b"");
        assert_eq!(answer.status, 403, "{headers:?}: {}", answer.body);
        assert_eq!(answer.json()["error"], "forbidden");
        let message = answer.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(why), "{headers:?}: {message}");
    }
    assert_eq!(
        lever_state(domain),
        before,
        "no refused pull moved the lever"
    );

    // The operator's pulls: curl with the header, or the page the server itself serves.
    let answer = http_with(
        domain,
        "POST",
        "/lever/drain/primary",
        &[(LEVER_HEADER, "1")],
        b"",
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["primary"]["drained"], true);
    let answer = http_with(
        domain,
        "POST",
        "/lever/restore/primary",
        &[
            (LEVER_HEADER, "1"),
            ("Origin", &own_origin),
            ("Sec-Fetch-Site", "same-origin"),
        ],
        b"",
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.json()["primary"]["drained"], false);

    server.stop();
    let log = logs.lock().unwrap().join("\n");
    assert!(
        log.contains("lever: refused POST /lever/drain/primary: a lever pull from the web page at http://evil.example is refused"),
        "{log}"
    );
    assert!(log.contains("lever: drain primary (us-east-1)"), "{log}");
}

/// Reads what the server sends on `stream` until it closes it; fails when it keeps it open
/// for `limit`.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> String {
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut raw = Vec::new();
    match stream.read_to_end(&mut raw) {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(error) => panic!(
            "the server kept the connection open ({error}); read so far: {:?}",
            String::from_utf8_lossy(&raw)
        ),
    }
    String::from_utf8_lossy(&raw).into_owned()
}

#[test]
fn slow_and_greedy_clients_cannot_hold_the_ports() {
    let out = tempfile::tempdir().unwrap();
    let limits = DevLimits {
        header_read_timeout: Duration::from_millis(500),
        body_read_timeout: Duration::from_millis(500),
        connections_per_port: 4,
    };
    let (server, _) = start_with(out.path(), config(95, 5, 1), limits);
    let addresses = server.addresses();
    let primary = addresses.primary;
    // Far beyond the timeouts, far below "held forever".
    let patience = Duration::from_secs(15);

    // Slowloris: a request line and half a header, then a byte now and then. The connection
    // is closed once the headers are late, without an answer that accepts anything.
    let mut slow = TcpStream::connect(primary).unwrap();
    slow.write_all(format!("POST /events HTTP/1.1\r\nHost: {primary}\r\nX-Slow: ").as_bytes())
        .unwrap();
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(200));
        if slow.write_all(b"a").is_err() {
            break;
        }
    }
    let answer = read_until_closed(&mut slow, patience);
    assert!(!answer.contains(" 200 "), "{answer}");

    // A body that never arrives in full: 408.
    let mut late = TcpStream::connect(primary).unwrap();
    late.write_all(
        format!("POST /events HTTP/1.1\r\nHost: {primary}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"id\":").as_bytes(),
    )
    .unwrap();
    let answer = read_until_closed(&mut late, patience);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");

    // Connections that send nothing hold the primary's 4 places; the 5th is closed at once,
    // unanswered, while the other ports answer as usual.
    let mut idle: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect(primary).unwrap())
        .collect();
    // The accept loop takes them in order: the 5th is seen after the 4.
    std::thread::sleep(Duration::from_millis(100));
    let mut extra = TcpStream::connect(primary).unwrap();
    let _ = extra.write_all(format!("GET /health HTTP/1.1\r\nHost: {primary}\r\n\r\n").as_bytes());
    let answer = read_until_closed(&mut extra, patience);
    assert_eq!(
        answer, "",
        "a connection beyond the cap is closed unanswered"
    );
    assert_eq!(
        http(addresses.domain, "GET", "/lever", None, b"").status,
        200
    );
    assert_eq!(
        http(addresses.secondary, "GET", "/health", None, b"").status,
        200
    );
    // The idle ones are reaped by the header timeout, and the primary answers again.
    for stream in &mut idle {
        assert_eq!(read_until_closed(stream, patience), "");
    }
    eventually(patience, "the primary to take connections again", || {
        http(primary, "GET", "/health", None, b"").status == 200
    });
    server.stop();
}

#[test]
fn a_flood_of_the_public_routes_moves_neither_the_lever_nor_the_health_verdicts() {
    let out = tempfile::tempdir().unwrap();
    let (server, _) = start(out.path(), config(95, 5, 3600));
    let addresses = server.addresses();
    let domain = addresses.domain;
    let drained = http_with(
        domain,
        "POST",
        "/lever/drain/primary",
        &[(LEVER_HEADER, "1")],
        b"",
    );
    assert_eq!(drained.status, 200, "{}", drained.body);
    let before = lever_state(domain);

    // What anyone can send: events (good, too large, malformed), health reads, the lever's
    // routes without its header or with the wrong method, on every port, from 4 clients.
    let flood = |to: SocketAddr, seed: usize| {
        let mut statuses = BTreeMap::<u16, usize>::new();
        for i in 0..60 {
            let answer = match i % 6 {
                0 => post(to, &punch("flood", seed * 1000 + i, 1)),
                1 => post(to, &"x".repeat(MAX_EVENT_BYTES * 5)),
                2 => http(to, "GET", "/health", None, b""),
                3 => http(to, "POST", "/lever/restore/primary", None, b""),
                4 => http(to, "GET", "/lever/drain/secondary", None, b""),
                _ => http(
                    to,
                    "POST",
                    "/lever/outage/secondary",
                    Some("text/plain"),
                    b"x",
                ),
            };
            *statuses.entry(answer.status).or_default() += 1;
        }
        statuses
    };
    let floods: Vec<_> = [domain, addresses.primary, addresses.secondary, domain]
        .into_iter()
        .enumerate()
        .map(|(seed, to)| std::thread::spawn(move || flood(to, seed)))
        .collect();
    for flood in floods {
        let statuses = flood.join().unwrap();
        assert!(statuses.keys().all(|s| *s != 500), "{statuses:?}");
    }

    assert_eq!(lever_state(domain), before, "the flood moved the lever");
    for role in Role::BOTH {
        let health = http(addresses.region(role), "GET", "/health", None, b"");
        assert_eq!(health.status, 200, "{role:?}: {}", health.body);
    }
    // The domain still sends everything to the undrained secondary.
    for i in 0..20 {
        let answer = post(domain, &punch("after", i, 1));
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(role_of(&answer), "secondary");
    }
    let summary = server.stop();
    assert!(summary.delivered(), "{}", summary.render());
}
