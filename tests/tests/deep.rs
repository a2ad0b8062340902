//! Recursive schemas over deeply nested input: the generated validators, the evaluator and the
//! envelope reader neither exhaust the stack nor accept.
//!
//! A recursive schema (a tree of nodes) makes the validator recurse once per level of the
//! input, so the only bound on its stack is the reader's nesting limit
//! (`ingest_runtime::json::MAX_DEPTH`): input nested exactly to the limit is validated to the
//! bottom (a bad leaf there is found), and input one level deeper, or far deeper, is an error of
//! the reader, never a verdict and never a stack overflow.
//!
//! How much stack that takes depends on the schema and the build. The `recursive: ...` groups of
//! `fixtures/schemas/shapes.json` (a tree through `$ref: "#"`, nested lists through a
//! definition and `anyOf`, a tagged union whose branch refers back) are the costly kind: in
//! this crate's debug build, at the depth limit, up to about 0.6 MiB in generated code and
//! 1.8 MiB in the evaluator (more than a 256 KiB thread has). So the runtime gives the threads
//! that validate a stack of `ingest_runtime::json::VALIDATION_STACK` (8 MiB), and these shapes
//! are checked on a quarter of it, a margin of four over a debug build (a release build's
//! frames are smaller). The category tree of `specs/checkout.yaml` (`catalog.updated`, through
//! its generated registry and the envelope reader, as the validator Lambda runs it) fits in
//! 256 KiB and is checked there.

use ingest_runtime::json::{Error, MAX_DEPTH, Parser, VALIDATION_STACK};
use ingest_runtime::{Checker, Reason, RecordOutcome, Validator, Violation};
use ingest_tests::generated::shapes::SHAPES;
use ingest_tests::generated::specs::checkout_plan;

/// A small stack, as a thread may have: 256 KiB, an eighth of a spawned thread's default.
const SMALL_STACK: usize = 256 * 1024;

/// A quarter of the stack the runtime gives the threads that validate: what the recursive
/// shapes must fit in at the depth limit, in this crate's (debug) build.
const QUARTER_STACK: usize = VALIDATION_STACK / 4;

/// Far beyond the limit: a record of nothing but brackets.
const FAR_TOO_DEEP: usize = 100_000;

/// Runs `check` on a thread with `stack` bytes of stack; a stack overflow aborts the test
/// binary.
fn on_a_stack_of(stack: usize, check: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(check)
        .expect("a thread starts")
        .join()
        .expect("the check passes");
}

/// An instance nested exactly `depth` arrays and objects deep, valid or with one bad value at
/// the bottom.
type Nest = fn(depth: usize, valid: bool) -> String;

/// `{"id":0,"children":[ ... ]}`: two levels per node; an even depth ends in `children`.
fn tree(depth: usize, valid: bool) -> String {
    nodes(depth, "{\"id\":0,\"children\":[", "]}", |even| {
        match (even, valid) {
            (false, true) => "{\"id\":1}",
            (false, false) => "{\"id\":\"1\"}",
            (true, true) => "{\"id\":1,\"children\":[]}",
            (true, false) => "{\"id\":1,\"children\":[7]}",
        }
    })
}

/// `[[[ ... 1 ... ]]]`: one level per list.
fn lists(depth: usize, valid: bool) -> String {
    let leaf = if valid { "1" } else { "-1" };
    format!("{}{leaf}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"kind":"branch","children":[ ... ]}`: two levels per node; an even depth ends in
/// `children`.
fn tagged(depth: usize, valid: bool) -> String {
    nodes(
        depth,
        "{\"kind\":\"branch\",\"children\":[",
        "]}",
        |even| match (even, valid) {
            (false, true) => "{\"kind\":\"leaf\",\"value\":\"a\"}",
            (false, false) => "{\"kind\":\"leaf\",\"value\":1}",
            (true, true) => "{\"kind\":\"branch\",\"children\":[]}",
            (true, false) => "{\"kind\":\"branch\",\"children\":[7]}",
        },
    )
}

/// Nodes of two levels each (an object and its array of children) around a last node of one
/// level (odd depth) or two (even depth, `innermost(true)`).
fn nodes(
    depth: usize,
    open: &str,
    close: &str,
    innermost: impl Fn(bool) -> &'static str,
) -> String {
    let outer = (depth - 1) / 2;
    let last = innermost(depth.is_multiple_of(2));
    format!("{}{last}{}", open.repeat(outer), close.repeat(outer))
}

/// The recursive shapes, by the description they have in the fixture, with their instances.
const RECURSIVE: &[(&str, Nest)] = &[
    ("recursive: a tree whose children refer to the root", tree),
    (
        "recursive: nested lists of integers through a definition and anyOf",
        lists,
    ),
    (
        "recursive: a tagged union whose branch refers back to the union",
        tagged,
    ),
];

/// The reader's result and the violations of one validator in one mode.
fn run(
    validate: impl Fn(&mut Parser<'_>, &mut Checker) -> Result<(), Error>,
    bytes: &[u8],
    report: bool,
) -> (Result<(), Error>, Vec<Violation>) {
    let mut p = Parser::new(bytes);
    let mut c = if report {
        Checker::report()
    } else {
        Checker::fast()
    };
    let result = validate(&mut p, &mut c).and_then(|()| p.finish());
    (result, c.into_violations())
}

#[test]
fn every_recursive_shape_of_the_fixture_is_tested_here() {
    let in_fixture: Vec<&str> = SHAPES
        .iter()
        .map(|s| s.description)
        .filter(|d| d.starts_with("recursive:"))
        .collect();
    let here: Vec<&str> = RECURSIVE.iter().map(|(d, _)| *d).collect();
    assert_eq!(in_fixture, here);
}

#[test]
fn the_instances_nest_as_deep_as_they_say() {
    for (description, nest) in RECURSIVE {
        for depth in [1, 2, 3, MAX_DEPTH, MAX_DEPTH + 1] {
            for valid in [true, false] {
                let text = nest(depth, valid);
                let mut level = 0usize;
                let mut deepest = 0usize;
                for byte in text.bytes() {
                    match byte {
                        b'[' | b'{' => {
                            level += 1;
                            deepest = deepest.max(level);
                        }
                        b']' | b'}' => level -= 1,
                        _ => {}
                    }
                }
                assert_eq!(deepest, depth, "{description}: {text}");
            }
        }
    }
}

#[test]
fn recursive_validators_check_to_the_depth_limit_and_refuse_beyond_it_on_a_quarter_stack() {
    on_a_stack_of(QUARTER_STACK, || {
        for (description, nest) in RECURSIVE {
            let shape = SHAPES
                .iter()
                .find(|s| s.description == *description)
                .expect("the shape is in the fixture");
            let schema_json: serde_json::Value =
                serde_json::from_str(shape.schema).expect("the fixture's schema is JSON");
            let schema = ingest_codegen::schema::parse(&schema_json).expect("a valid schema");
            let program = ingest_eval::Program::compile(&schema).expect("it compiles");
            let evaluated = |p: &mut Parser<'_>, c: &mut Checker| program.validate_json(p, c);

            for depth in [1, 2, MAX_DEPTH - 1, MAX_DEPTH] {
                let good = nest(depth, true);
                let bad = nest(depth, false);
                for report in [false, true] {
                    let generated = run(shape.validate, good.as_bytes(), report);
                    assert_eq!(
                        generated,
                        (Ok(()), vec![]),
                        "{description}: depth {depth}, valid"
                    );
                    assert_eq!(run(evaluated, good.as_bytes(), report), generated);

                    let generated = run(shape.validate, bad.as_bytes(), report);
                    let found_bad = generated.0.is_err() || !generated.1.is_empty();
                    assert!(found_bad, "{description}: depth {depth}, bad leaf accepted");
                    assert_eq!(
                        run(evaluated, bad.as_bytes(), report),
                        generated,
                        "{description}: depth {depth}, the evaluator differs"
                    );
                }
                // The report goes down to the bad leaf (or to the node whose union it fails).
                let (_, violations) = run(shape.validate, bad.as_bytes(), true);
                let deepest = violations
                    .iter()
                    .map(|v| v.pointer.matches('/').count())
                    .max()
                    .unwrap_or(0);
                assert!(
                    deepest + 2 >= depth,
                    "{description}: depth {depth}, the deepest violation is {deepest} levels down: {violations:?}"
                );
            }

            for depth in [MAX_DEPTH + 1, MAX_DEPTH + 2, FAR_TOO_DEEP] {
                for valid in [true, false] {
                    let text = nest(depth, valid);
                    for report in [false, true] {
                        let generated = run(shape.validate, text.as_bytes(), report);
                        let error = generated
                            .0
                            .as_ref()
                            .err()
                            .map(ToString::to_string)
                            .unwrap_or_default();
                        // The fast path may stop at the bad leaf's violation before the reader
                        // reaches the limit only if the leaf comes first; here it comes last.
                        assert!(
                            error.contains("nesting too deep"),
                            "{description}: depth {depth}: {generated:?}"
                        );
                        assert_eq!(run(evaluated, text.as_bytes(), report), generated);
                    }
                }
            }
        }
    });
}

/// A `catalog.updated` event whose category tree nests `levels` categories, the last with an
/// empty `children` when `empty_children`.
fn catalog_event(levels: usize, empty_children: bool, valid: bool) -> String {
    let category = "{\"id\":\"c\",\"name\":\"C\",\"children\":[";
    let leaf = match (empty_children, valid) {
        (true, true) => "{\"id\":\"c\",\"name\":\"C\",\"children\":[]}",
        (true, false) => "{\"id\":\"c\",\"name\":\"C\",\"children\":[7]}",
        (false, true) => "{\"id\":\"c\",\"name\":\"C\"}",
        (false, false) => "{\"id\":\"C!\",\"name\":\"C\"}",
    };
    format!(
        "{{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"test\",\"type\":\"catalog.updated\",\"data\":{{\"catalog_id\":\"k\",\"root\":{}{leaf}{}}}}}",
        category.repeat(levels - 1),
        "]}".repeat(levels - 1)
    )
}

#[test]
fn the_envelope_reader_takes_a_category_tree_to_the_limit_and_refuses_one_level_more() {
    on_a_stack_of(SMALL_STACK, || {
        let validator = Validator::new(&checkout_plan::REGISTRY);
        // The envelope, `data` and the root category are three levels; each category under it
        // two more (an array and an object), and an empty `children` one: 3 + 2 * 62 + 1.
        let at_limit = 63;
        let good = catalog_event(at_limit, true, true);
        assert!(validator.is_valid(good.as_bytes()));
        assert!(validator.validate(good.as_bytes()).is_valid());

        let bad = catalog_event(at_limit, true, false);
        assert!(!validator.is_valid(bad.as_bytes()));
        let RecordOutcome::Events { events, .. } = validator.validate(bad.as_bytes()) else {
            panic!("the envelope reads");
        };
        let rejection = events[0].result.as_ref().expect_err("a bad leaf");
        assert_eq!(rejection.reason, Reason::SchemaViolation);
        let pointer = &rejection.violations[0].pointer;
        assert_eq!(
            pointer,
            &format!(
                "/data/root{}/children/0",
                "/children/0".repeat(at_limit - 1)
            ),
            "{rejection:?}"
        );

        // One level more: a category without `children` below the last one.
        for valid in [true, false] {
            let too_deep = catalog_event(at_limit + 1, false, valid);
            assert!(!validator.is_valid(too_deep.as_bytes()));
            let outcome = validator.validate(too_deep.as_bytes());
            let rejection = match &outcome {
                RecordOutcome::Rejected(rejection) => rejection,
                RecordOutcome::Events { events, .. } => {
                    events[0].result.as_ref().expect_err("too deep")
                }
            };
            assert_eq!(rejection.reason, Reason::NotJson, "{outcome:?}");
            assert!(
                rejection.violations[0].message.contains("nesting too deep"),
                "{outcome:?}"
            );
        }

        let far = catalog_event(FAR_TOO_DEEP, false, true);
        assert!(!validator.is_valid(far.as_bytes()));
        assert!(!validator.validate(far.as_bytes()).is_valid());
    });
}
