//! The corpus of `specs/checkout.yaml`, `tests/benches/checkout.ndjson.gz`: 30,000 CloudEvents,
//! about 90% valid, from a fixed seed.
//!
//! Written by hand rather than by the drill's generator (`ingest_synth::drill::generate`), which
//! reads a schema's own keywords only: it does not follow `allOf` into the payment's shared
//! fields nor satisfy `if`/`then`/`else`, so most of its checkout events would be invalid by
//! accident. Here each event is made valid on purpose, choosing every branch of the spec's
//! unions (the three payment methods of the `oneOf`, both address families of the `anyOf`, the
//! `then` and `else` of the order's and the address's conditions), and one event in ten is
//! broken on purpose by one mistake that a keyword of the spec catches (listed in
//! [`Mistake`]). Before writing, every event's intent is checked against the `jsonschema`
//! crate's verdict and the generated validator's: a mistake that does not break its event, or
//! a valid event that is not, stops the run.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;
use ingest_runtime::Validator;
use serde_json::{Map, Value, json};

use crate::Rng;

/// How many events the corpus holds.
const EVENTS: usize = 30_000;

/// One in this many events is broken.
const INVALID_ONE_IN: u64 = 10;

/// The seed of the corpus.
const SEED: u64 = 0x636b_6f75_7421_2026;

/// What each event was made to show: a valid shape (`branch`) or a mistake.
#[derive(Default)]
struct Tally {
    branches: BTreeMap<&'static str, usize>,
    mistakes: BTreeMap<&'static str, usize>,
}

impl Tally {
    fn branch(&mut self, name: &'static str) {
        *self.branches.entry(name).or_default() += 1;
    }
}

/// A mistake a producer of checkout events makes, and the keyword that catches it.
type Mistake = (&'static str, fn(&mut Rng, &mut Value));

/// Removes a member of an object.
fn remove(object: &mut Value, key: &str) {
    if let Some(members) = object.as_object_mut() {
        members.remove(key);
    }
}

fn money(rng: &mut Rng, max: u64) -> Value {
    json!({"currency": rng.pick(&["GBP", "EUR", "USD"]), "minor_units": rng.below(max)})
}

fn tags(rng: &mut Rng) -> Value {
    let mut map = Map::new();
    for _ in 0..1 + rng.below(3) {
        let key = rng.pick(&[
            "campaign",
            "ab_bucket",
            "referrer",
            "utm_source",
            "cohort_2026",
        ]);
        let value = rng.pick(&[
            "black_friday",
            "b",
            "newsletter",
            "partner-42",
            "spring sale",
        ]);
        map.insert(key.to_owned(), json!(value));
    }
    Value::Object(map)
}

fn digits(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

fn order_id(rng: &mut Rng) -> String {
    format!("ORD-{}", digits(rng, 8))
}

fn address(rng: &mut Rng, tally: &mut Tally) -> Value {
    let country = rng.pick(&["GB", "GB", "IE", "FR", "DE", "US", "US"]);
    let lines: Vec<Value> = (0..1 + rng.below(3))
        .map(|i| {
            json!(match i {
                0 => format!(
                    "{} {}",
                    1 + rng.below(200),
                    rng.pick(&["High Street", "Main St", "Rue de la Paix", "Hauptstrasse"])
                ),
                1 => format!("Flat {}", 1 + rng.below(40)),
                _ => rng
                    .pick(&["Westminster", "Brooklyn", "Temple Bar"])
                    .to_owned(),
            })
        })
        .collect();
    let mut map = json!({"country": country, "lines": lines});
    if country == "US" {
        tally.branch("address: US (then: region, ZIP code)");
        let zip = if rng.below(2) == 0 {
            digits(rng, 5)
        } else {
            format!("{}-{}", digits(rng, 5), digits(rng, 4))
        };
        map["postal_code"] = json!(zip);
        map["region"] = json!(rng.pick(&["NY", "CA", "TX", "WA"]));
    } else {
        tally.branch("address: not US");
        map["postal_code"] =
            json!(rng.pick(&["SW1A 1AA", "D02 X285", "75001", "10115", "EC1V 9BD"]));
        if rng.below(3) == 0 {
            map["region"] = json!(rng.pick(&["Greater London", "Leinster", "Ile-de-France"]));
        }
    }
    map
}

fn order_placed(rng: &mut Rng, tally: &mut Tally) -> Value {
    let channel = rng.pick(&["web", "web", "app", "store"]);
    let mut customer = json!({"customer_id": rng.uuid()});
    if rng.below(3) != 0 {
        customer["email"] = json!(format!("shopper{}@example.co.uk", rng.below(100_000)));
        if rng.below(4) == 0 {
            customer["guest"] = json!(true);
        }
    }
    if rng.below(2) == 0 {
        customer["phone"] = json!(format!("+44{}", digits(rng, 10)));
    }
    let gift_wrapped_at_most = rng.below(4);
    let lines: Vec<Value> = (0..1 + rng.below(5))
        .map(|i| {
            let mut line = json!({
                "sku": format!("SKU-{}", digits(rng, 6)),
                "quantity": 1 + rng.below(4),
                "unit_price": money(rng, 20_000),
            });
            if i < gift_wrapped_at_most {
                line["gift_wrap"] = json!(true);
            } else if rng.below(4) == 0 {
                line["gift_wrap"] = json!(false);
            }
            line
        })
        .collect();
    let mut data = json!({
        "order_id": order_id(rng),
        "channel": channel,
        "customer": customer,
        "lines": lines,
        "total": money(rng, 100_000),
    });
    if channel == "store" {
        tally.branch("order: store (then: store_id)");
        data["store_id"] = json!(format!("S{}", digits(rng, 3)));
        if rng.below(5) == 0 {
            data["shipping_address"] = address(rng, tally);
        }
    } else {
        tally.branch("order: web or app (else: shipping_address)");
        data["shipping_address"] = address(rng, tally);
    }
    if rng.below(4) == 0 {
        data["coupon_code"] = json!(format!("SAVE{}", digits(rng, 4)));
        data["coupon_discount"] = money(rng, 2_000);
    }
    if rng.below(3) == 0 {
        data["delivery_window"] = json!([
            format!("2026-12-{:02}", 1 + rng.below(28)),
            format!("{:02}:00:00Z", 8 + rng.below(6)),
            format!("{:02}:00:00Z", 14 + rng.below(8)),
        ]);
    }
    if rng.below(3) == 0 {
        data["promised_within"] = json!(rng.pick(&["P2D", "PT4H", "P1DT12H", "PT90M"]));
    }
    if rng.below(3) == 0 {
        data["tags"] = tags(rng);
    }
    data
}

fn payment_captured(rng: &mut Rng, tally: &mut Tally) -> Value {
    let mut data = json!({
        "payment_id": rng.uuid(),
        "order_id": order_id(rng),
        "amount": money(rng, 100_000),
        "captured_at": rng.time(),
    });
    match rng.below(3) {
        0 => {
            tally.branch("payment: card");
            data["method"] = json!("card");
            data["last4"] = json!(digits(rng, 4));
            data["brand"] = json!(rng.pick(&["visa", "mastercard", "amex"]));
            if rng.below(2) == 0 {
                data["three_ds"] = json!(rng.below(2) == 0);
            }
        }
        1 => {
            tally.branch("payment: bank_transfer");
            data["method"] = json!("bank_transfer");
            data["iban"] = json!(format!(
                "{}{}{}",
                rng.pick(&["GB", "IE", "DE", "FR"]),
                digits(rng, 2),
                rng.pick(&[
                    "NWBK60161331926819",
                    "AIBK93115212345678",
                    "370400440532013000"
                ])
            ));
            if rng.below(2) == 0 {
                data["reference"] = json!(format!("Invoice {}", digits(rng, 6)));
            }
        }
        _ => {
            tally.branch("payment: wallet");
            data["method"] = json!("wallet");
            data["provider"] = json!(rng.pick(&["apple_pay", "google_pay", "paypal"]));
            if rng.below(2) == 0 {
                data["account"] = json!(format!("wallet{}@example.com", rng.below(100_000)));
            }
        }
    }
    data
}

fn category(rng: &mut Rng, depth: u32, serial: &mut u32) -> Value {
    *serial += 1;
    let mut node = json!({
        "id": format!("{}-{serial}", rng.pick(&["shoes", "bags", "kids", "sale", "home"])),
        "name": rng.pick(&["Shoes", "Bags & wallets", "Kids", "Sale", "Home and garden"]),
    });
    if rng.below(3) == 0 {
        node["image"] = json!(format!("https://cdn.example.co.uk/cat/{serial}.jpg"));
    }
    if depth < 3 {
        let children: Vec<Value> = (0..rng.below(4))
            .map(|_| category(rng, depth + 1, serial))
            .collect();
        if !children.is_empty() {
            node["children"] = Value::Array(children);
        }
    }
    node
}

fn catalog_updated(rng: &mut Rng, tally: &mut Tally) -> Value {
    tally.branch("catalog: category tree");
    let mut serial = 0;
    let mut data = json!({
        "catalog_id": format!("catalog-{}", rng.below(50)),
        "root": category(rng, 0, &mut serial),
    });
    if rng.below(2) == 0 {
        data["published_at"] = json!(rng.time());
    }
    if rng.below(2) == 0 {
        let others = ["fr-FR", "de", "ga-IE", "es"];
        let count = rng.below(others.len() as u64 + 1) as usize;
        let mut locales = vec![json!("en")];
        locales.extend(others[..count].iter().map(|l| json!(l)));
        data["locales"] = Value::Array(locales);
    }
    if rng.below(2) == 0 {
        let mut badges = vec![json!(rng.pick(&["new", "sale", "seasonal"]))];
        for _ in 0..rng.below(4) {
            badges.push(json!(rng.pick(&["winter", "free ship", "last chance"])));
        }
        data["badges"] = Value::Array(badges);
    }
    data
}

fn session_started(rng: &mut Rng, tally: &mut Tally) -> Value {
    let address = if rng.below(3) == 0 {
        tally.branch("session: IPv6 address");
        format!("2001:db8:{:x}::{:x}", rng.below(65_536), rng.below(65_536))
    } else {
        tally.branch("session: IPv4 address");
        format!(
            "{}.{}.{}.{}",
            1 + rng.below(223),
            rng.below(256),
            rng.below(256),
            1 + rng.below(254)
        )
    };
    let mut client = json!({"address": address});
    if rng.below(2) == 0 {
        client["host"] = json!(format!("client{}.isp.example.net", rng.below(1_000)));
    }
    if rng.below(2) == 0 {
        client["user_agent"] = json!(rng.pick(&[
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/120.0",
            "CheckoutApp/4.2 (Android 14)",
        ]));
    }
    let mut data = json!({"session_id": rng.uuid(), "started_at": rng.time(), "client": client});
    if rng.below(2) == 0 {
        data["landing_page"] = json!(format!(
            "https://shop.example.co.uk/{}?ref={}",
            rng.pick(&["", "sale", "kids/shoes"]),
            rng.below(1_000)
        ));
    }
    if rng.below(3) == 0 {
        data["idle_timeout"] = json!(rng.pick(&["PT30M", "PT1H", "PT15M"]));
    }
    if rng.below(4) == 0 {
        data["quiet_hours"] = json!([
            format!("{:02}:00:00Z", 20 + rng.below(4)),
            format!("{:02}:30:00+01:00", 5 + rng.below(4)),
        ]);
    }
    if rng.below(2) == 0 {
        let mut experiments = Map::new();
        for _ in 0..1 + rng.below(3) {
            let name = rng.pick(&[
                "checkout-flow",
                "free-shipping-banner",
                "one-click",
                "search-v2",
            ]);
            experiments.insert(name.to_owned(), json!(rng.pick(&["control", "treatment"])));
        }
        data["experiments"] = Value::Object(experiments);
    }
    if rng.below(3) == 0 {
        data["tags"] = tags(rng);
    }
    data
}

/// The mistakes made in `order.placed` events, each caught by the keyword it names.
const ORDER_MISTAKES: &[Mistake] = &[
    ("order: web without shipping_address (else)", |_, d| {
        d["channel"] = json!("web");
        remove(d, "shipping_address");
    }),
    ("order: store without store_id (then)", |_, d| {
        d["channel"] = json!("store");
        remove(d, "store_id");
    }),
    (
        "order: coupon_code without coupon_discount (dependentRequired)",
        |_, d| {
            d["coupon_code"] = json!("WINTER26");
            remove(d, "coupon_discount");
        },
    ),
    ("order: four gift-wrapped lines (maxContains)", |rng, d| {
        let line = json!({"sku": "SKU-GIFT", "quantity": 1, "unit_price": money(rng, 500), "gift_wrap": true});
        d["lines"] = json!([line, line, line, line]);
    }),
    ("order: guest without email (dependentSchemas)", |_, d| {
        d["customer"]["guest"] = json!(true);
        remove(&mut d["customer"], "email");
    }),
    ("order: email at example.invalid (not)", |_, d| {
        d["customer"]["email"] = json!("bot@example.invalid");
    }),
    (
        "order: customer with loyalty_tier (unevaluatedProperties)",
        |_, d| {
            d["customer"]["loyalty_tier"] = json!("gold");
        },
    ),
    (
        "order: US address without region (if/then in common.json)",
        |rng, d| {
            d["channel"] = json!("app");
            d["shipping_address"] =
                json!({"country": "US", "postal_code": digits(rng, 5), "lines": ["1 Main St"]});
        },
    ),
    (
        "order: US address with a UK postcode (then's pattern)",
        |_, d| {
            d["channel"] = json!("web");
            d["shipping_address"] = json!({"country": "US", "region": "NY", "postal_code": "SW1A 1AA", "lines": ["1 Main St"]});
        },
    ),
    (
        "order: delivery_window of four items (items: false)",
        |_, d| {
            d["delivery_window"] = json!(["2026-12-05", "09:00:00Z", "12:00:00Z", "note"]);
        },
    ),
    (
        "order: tag named in capitals (patternProperties)",
        |_, d| {
            d["tags"] = json!({"Campaign": "black_friday"});
        },
    ),
    ("order: negative total (minimum)", |_, d| {
        d["total"]["minor_units"] = json!(-100);
    }),
];

/// The mistakes made in `payment.captured` events.
const PAYMENT_MISTAKES: &[Mistake] = &[
    (
        "payment: card with an iban (unevaluatedProperties, no branch)",
        |_, d| {
            d["method"] = json!("card");
            d["last4"] = json!("4242");
            d["brand"] = json!("visa");
            d["iban"] = json!("GB29NWBK60161331926819");
        },
    ),
    (
        "payment: wallet fields under method card (oneOf: no branch)",
        |_, d| {
            let o = d.as_object_mut().expect("an object");
            for key in ["last4", "brand", "three_ds", "iban", "reference", "account"] {
                o.remove(key);
            }
            o.insert("method".to_owned(), json!("card"));
            o.insert("provider".to_owned(), json!("paypal"));
        },
    ),
    ("payment: no payment_id (allOf's required)", |_, d| {
        remove(d, "payment_id");
    }),
    ("payment: unknown method (const)", |_, d| {
        d["method"] = json!("cheque");
    }),
    ("payment: order_id without its prefix (pattern)", |_, d| {
        d["order_id"] = json!("12345678");
    }),
];

/// The mistakes made in `catalog.updated` events.
const CATALOG_MISTAKES: &[Mistake] = &[
    (
        "catalog: a grandchild's id in capitals (recursive $ref)",
        |_, d| {
            d["root"]["children"] = json!([{"id": "kids", "name": "Kids", "children": [{"id": "Kids-Shoes", "name": "Shoes"}]}]);
        },
    ),
    (
        "catalog: locales not starting with en (prefixItems const)",
        |_, d| {
            d["locales"] = json!(["fr-FR", "en"]);
        },
    ),
    ("catalog: a locale twice (uniqueItems)", |_, d| {
        d["locales"] = json!(["en", "de", "de"]);
    }),
    (
        "catalog: a free badge over 12 characters (unevaluatedItems)",
        |_, d| {
            d["badges"] = json!(["sale", "limited edition"]);
        },
    ),
    ("catalog: a category without a name (required)", |_, d| {
        remove(&mut d["root"], "name");
    }),
];

/// The mistakes made in `session.started` events.
const SESSION_MISTAKES: &[Mistake] = &[
    (
        "session: an address neither IPv4 nor IPv6 (anyOf)",
        |_, d| {
            d["client"]["address"] = json!("300.1.2.3");
        },
    ),
    ("session: an http landing page (not)", |_, d| {
        d["landing_page"] = json!("http://shop.example.co.uk/");
    }),
    (
        "session: an experiment arm that is no arm (additionalProperties enum)",
        |_, d| {
            d["experiments"] = json!({"checkout-flow": "variant-b"});
        },
    ),
    (
        "session: an experiment named in capitals (propertyNames)",
        |_, d| {
            d["experiments"] = json!({"CheckoutFlow": "control"});
        },
    ),
    (
        "session: idle_timeout in words (format duration)",
        |_, d| {
            d["idle_timeout"] = json!("30 minutes");
        },
    ),
    (
        "session: quiet hours at 25 o'clock (prefixItems format time)",
        |_, d| {
            d["quiet_hours"] = json!(["25:00:00Z", "07:00:00Z"]);
        },
    ),
    (
        "session: a client with a cookie (additionalProperties: false)",
        |_, d| {
            d["client"]["cookie"] = json!("abc");
        },
    ),
];

/// Makes the `data` of a valid event of one type, counting the branches it takes.
type Make = fn(&mut Rng, &mut Tally) -> Value;

/// The event types, with how often each comes (out of 10) and its mistakes.
const TYPES: &[(&str, u64, Make, &[Mistake])] = &[
    ("order.placed", 3, order_placed, ORDER_MISTAKES),
    ("payment.captured", 3, payment_captured, PAYMENT_MISTAKES),
    ("catalog.updated", 1, catalog_updated, CATALOG_MISTAKES),
    ("session.started", 3, session_started, SESSION_MISTAKES),
];

/// The `jsonschema` crate's validators of the spec's event types (their schema files bundled
/// in), and the generated validator.
fn judges() -> (BTreeMap<String, jsonschema::Validator>, Validator<'static>) {
    let root = ingest_tests::workspace_root();
    let plan = ingest_synth::check_spec(&root.join("specs/checkout.yaml"))
        .expect("the checkout spec is valid")
        .plan;
    let validators = plan
        .events
        .iter()
        .map(|e| {
            let bundled = ingest_codegen::schema::bundle(&e.schema, &e.schema_json, &e.type_name);
            let validator = jsonschema::draft202012::options()
                .should_validate_formats(true)
                .build(&bundled)
                .expect("the jsonschema crate compiles the checkout schemas");
            (e.type_name.clone(), validator)
        })
        .collect();
    (
        validators,
        Validator::new(&ingest_tests::generated::specs::checkout_plan::REGISTRY),
    )
}

/// Makes the corpus, checks every event's intent, writes it.
pub fn write() {
    let (reference, ours) = judges();
    let mut rng = Rng(SEED);
    let mut tally = Tally::default();
    let weight: u64 = TYPES.iter().map(|t| t.1).sum();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/checkout.ndjson.gz");
    let file = std::fs::File::create(&path).expect("benches/ is writable");
    let mut out = GzEncoder::new(std::io::BufWriter::new(file), Compression::best());
    let (mut bytes, mut invalid) = (0usize, 0usize);
    for n in 0..EVENTS {
        let mut roll = rng.below(weight);
        let &(kind, _, make, mistakes) = TYPES
            .iter()
            .find(|t| {
                let hit = roll < t.1;
                roll = roll.saturating_sub(t.1);
                hit
            })
            .expect("the roll is below the total weight");
        let mut data = make(&mut rng, &mut tally);
        let mut kind = kind.to_owned();
        let broken = rng.below(INVALID_ONE_IN) == 0;
        if broken {
            invalid += 1;
            // One broken event in twenty-five gets an unknown type, the others a mistake.
            if rng.below(25) == 0 {
                kind = "order.refunded".to_owned();
                *tally.mistakes.entry("unknown type").or_default() += 1;
            } else {
                let &(name, apply) = rng.pick_item(mistakes);
                apply(&mut rng, &mut data);
                *tally.mistakes.entry(name).or_default() += 1;
            }
        }
        let event = json!({
            "specversion": "1.0", "id": rng.uuid(), "source": format!("web/checkout-{}", rng.below(40)),
            "type": kind, "time": rng.time(), "datacontenttype": "application/json", "data": data
        });
        let line = serde_json::to_string(&event).expect("serializes");
        let expected = reference
            .get(&kind)
            .is_some_and(|validator| validator.is_valid(&event["data"]));
        assert_eq!(
            expected,
            !broken,
            "event {n} ({kind}) was meant to be {}, the jsonschema crate disagrees: {line}",
            if broken { "invalid" } else { "valid" }
        );
        assert_eq!(
            ours.is_valid(line.as_bytes()),
            !broken,
            "event {n}: the generated validator disagrees with its intent: {line}"
        );
        bytes += line.len();
        writeln!(out, "{line}").expect("writes");
    }
    out.finish()
        .expect("gzip finishes")
        .flush()
        .expect("flushes");
    let mistakes: usize = TYPES.iter().map(|t| t.3.len()).sum();
    assert_eq!(
        tally.mistakes.len(),
        mistakes + 1,
        "every mistake (and the unknown type) occurs at least once"
    );
    println!(
        "wrote {} ({EVENTS} events, {} bytes on average, {invalid} invalid)",
        path.display(),
        bytes / EVENTS
    );
    for (name, count) in tally.branches.iter().chain(&tally.mistakes) {
        println!("{count:>6}  {name}");
    }
}
