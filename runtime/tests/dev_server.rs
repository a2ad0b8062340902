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

use ingest_runtime::pipeline::dev::{DevConfig, DevOptions, DevServer};
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
            spool_buffer_seconds,
            spool_buffer_mb: 1,
        },
        failover_automatic: true,
        content_types: vec![
            "application/json".to_owned(),
            "application/cloudevents-batch+json".to_owned(),
        ],
    }
}

type Logs = Arc<Mutex<Vec<String>>>;

fn start(out: &Path, config: DevConfig) -> (DevServer, Logs) {
    let logs: Logs = Arc::default();
    let sink = Arc::clone(&logs);
    let options = DevOptions {
        domain_port: 0,
        primary_port: 0,
        secondary_port: 0,
        stop_on_signals: false,
        log: Arc::new(move |line: &str| sink.lock().unwrap().push(line.to_owned())),
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
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let content_type = content_type
        .map(|t| format!("Content-Type: {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{content_type}Content-Length: {}\r\n\r\n",
        body.len()
    );
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

    // Over the limit in characters (not bytes): 413, nothing accepted.
    let oversized = note("app/3", 6, &"x".repeat(MAX_EVENT_BYTES));
    let answer = post(addresses.primary, &oversized);
    assert_eq!(answer.status, 413);
    assert_eq!(answer.json()["error"], "payload_too_large");
    assert_eq!(answer.json()["maxEventBytes"], MAX_EVENT_BYTES);
    let wide = "é".repeat(MAX_EVENT_BYTES - 10);
    assert!(wide.len() > MAX_EVENT_BYTES);
    assert_eq!(post(addresses.primary, &wide).status, 200);
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
        // The API counts characters, the validator bytes: accepted, then quarantined whole.
        ("too_large".to_owned(), wide.clone()),
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
    assert_eq!(summary.requests.too_large, 1);
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
    let lever = |path: &str| http(domain, "POST", path, None, b"");
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
