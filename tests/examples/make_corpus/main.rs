//! Writes the benchmark corpora, each from a fixed seed (so the same bytes every time):
//!
//! - `tests/benches/corpus.ndjson.gz`: 100,000 CloudEvents of `specs/ingest.yaml`, about 400
//!   bytes each, about 90% valid (`cargo run -p ingest-tests --example make_corpus`);
//! - `tests/benches/checkout.ndjson.gz`: CloudEvents of `specs/checkout.yaml`, about 90% valid,
//!   every event type and every branch of its unions (see `checkout.rs`;
//!   `cargo run -p ingest-tests --example make_corpus -- checkout`).

mod checkout;

use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

/// xorshift64*: a tiny deterministic generator (the corpus must not depend on a crate's RNG).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    fn pick_item<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | (b >> 48) & 0x3fff,
            b & 0xffff_ffff_ffff
        )
    }
    fn time(&mut self) -> String {
        format!(
            "2024-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            1 + self.below(12),
            1 + self.below(28),
            self.below(24),
            self.below(60),
            self.below(60)
        )
    }
    fn date(&mut self) -> String {
        format!("2024-{:02}-{:02}", 1 + self.below(12), 1 + self.below(28))
    }
    fn words(&mut self, max: u64) -> String {
        const WORDS: &[&str] = &[
            "swap",
            "late",
            "covering",
            "front desk",
            "inventory",
            "training",
            "per manager",
            "double",
            "store 12",
        ];
        (0..1 + self.below(max))
            .map(|_| self.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn data(rng: &mut Rng, kind: &str) -> Value {
    match kind {
        "shift.created" => json!({
            "shift_id": rng.uuid(), "location_id": 1 + rng.below(500), "position_id": 1 + rng.below(40),
            "user_id": if rng.below(5) == 0 { Value::Null } else { json!(1 + rng.below(90000)) },
            "start_time": rng.time(), "end_time": rng.time(), "break_minutes": 5 * rng.below(13),
            "color": format!("#{:06x}", rng.below(0x100_0000)), "notes": rng.words(6), "published": rng.below(2) == 0,
            "labels": ["opening", "weekend"], "created_by": {"user_id": 1 + rng.below(900), "role": rng.pick(&["manager", "supervisor", "admin"])}
        }),
        "shift.updated" => json!({
            "shift_id": rng.uuid(), "updated_by": 1 + rng.below(900), "reason": rng.words(8),
            "changes": {"start_time": rng.time(), "end_time": rng.time(), "location_id": 1 + rng.below(500), "published": true}
        }),
        "shift.deleted" => json!({
            "shift_id": rng.uuid(), "deleted_by": 1 + rng.below(900),
            "reason": rng.pick(&["duplicate", "cancelled", "weather", "other"]), "notify_users": rng.below(2) == 0
        }),
        "shift.swapped" => json!({
            "schema_version": 1, "shift_id": rng.uuid(), "from_user_id": 1 + rng.below(90000),
            "to_user_id": 1 + rng.below(90000), "approved_by": 1 + rng.below(900), "approved_at": rng.time()
        }),
        "clock.in" => json!({
            "punch_id": rng.uuid(), "user_id": 1 + rng.below(90000), "shift_id": rng.uuid(), "at": rng.time(),
            "method": rng.pick(&["app", "kiosk", "web", "badge"]), "device_id": format!("dev_{:016x}", rng.next()),
            "location": {"latitude": (rng.below(18000) as f64) / 100.0 - 90.0, "longitude": (rng.below(36000) as f64) / 100.0 - 180.0, "accuracy_m": 1 + rng.below(50)}
        }),
        "clock.out" => json!({
            "punch_id": rng.uuid(), "user_id": 1 + rng.below(90000), "shift_id": rng.uuid(), "at": rng.time(),
            "minutes_worked": rng.below(720), "tips_cents": rng.below(10000),
            "breaks": [{"start": rng.time(), "end": rng.time(), "paid": false}]
        }),
        _ => json!({
            "request_id": rng.uuid(), "user_id": 1 + rng.below(90000), "start_date": rng.date(), "end_date": rng.date(),
            "kind": rng.pick(&["vacation", "sick", "personal", "unpaid"]), "hours": 8 * (1 + rng.below(10)),
            "note": rng.words(6), "contact_email": format!("user{}@example.com", rng.below(90000))
        }),
    }
}

/// Makes an event invalid in one of several ways a real producer gets wrong.
fn break_it(rng: &mut Rng, event: &mut Value) {
    let data = event["data"].as_object_mut().expect("data is an object");
    let first_key = data.keys().next().cloned().unwrap_or_default();
    match rng.below(6) {
        0 => {
            data.remove(&first_key);
        }
        1 => {
            data.insert("unexpected_field".into(), json!(true));
            data.remove(&first_key);
        }
        2 => {
            data.insert(first_key, json!("not-a-uuid"));
        }
        3 => {
            data.insert("user_id".into(), json!(0));
            data.remove(&first_key);
        }
        4 => {
            data.insert(first_key, json!(12));
        }
        _ => {
            event["type"] = json!("shift.exploded");
        }
    }
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        None | Some("seed") => seed_corpus(),
        Some("checkout") => checkout::write(),
        Some(other) => {
            eprintln!("unknown corpus {other:?}: `seed` (the default) or `checkout`");
            std::process::exit(2);
        }
    }
}

/// The seed spec's corpus.
fn seed_corpus() {
    const TYPES: &[&str] = &[
        "shift.created",
        "shift.created",
        "shift.updated",
        "shift.deleted",
        "shift.swapped",
        "clock.in",
        "clock.in",
        "clock.out",
        "clock.out",
        "timeoff.requested",
    ];
    let mut rng = Rng(0x1d2c_3b4a_5968_7786);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/corpus.ndjson.gz");
    let file = std::fs::File::create(&path).expect("benches/ is writable");
    let mut out = GzEncoder::new(std::io::BufWriter::new(file), Compression::best());
    let mut bytes = 0usize;
    for n in 0..100_000u64 {
        let kind = rng.pick(TYPES);
        let mut event = json!({
            "specversion": "1.0", "id": rng.uuid(), "source": format!("app://ios/store-{}", rng.below(300)),
            "type": kind, "time": rng.time(), "datacontenttype": "application/json", "data": data(&mut rng, kind)
        });
        if rng.below(10) == 0 {
            break_it(&mut rng, &mut event);
        }
        let line = serde_json::to_string(&event).expect("serializes");
        bytes += line.len();
        writeln!(out, "{line}").expect("writes");
        let _ = n;
    }
    out.finish()
        .expect("gzip finishes")
        .flush()
        .expect("flushes");
    println!(
        "wrote {} ({} events, {} bytes on average)",
        path.display(),
        100_000,
        bytes / 100_000
    );
}
