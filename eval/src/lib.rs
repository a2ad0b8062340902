//! Validators without a build: an evaluator of the schema model of `ingest-codegen` that gives
//! exactly the verdicts and violations of the generated code.
//!
//! `ingest synth` turns each event schema into a Rust type whose `#[derive(Event)]` generates a
//! validator; the Lambda functions run that code. Building it needs cargo, a toolchain and the
//! source tree. This crate runs the same schemas in process instead: [`Program::compile`]
//! turns a parsed schema into a compact program (an arena of nodes, see `src/program.rs`) once, and
//! the program is then run over the runtime's strict reader (`ingest_runtime::json::Parser`)
//! with the runtime's [`Checker`](ingest_runtime::Checker), as generated code is. So the fast
//! path and the report come from one program, and both agree with generated code on every
//! input: same verdict, same violations (pointer, keyword, message) in the same order, same
//! errors for malformed JSON. The tests of `ingest-tests` (`tests/tests/eval.rs`) check that on
//! the whole JSON Schema Test Suite subset, on random and mutated events of every spec, and on
//! the benchmark corpus.
//!
//! [`registry`] builds a [`Registry`] of a spec's event types over programs, which the
//! envelope reader (`ingest_runtime::Validator`), `ingest_runtime::lines` (`ingest validate`)
//! and the local pipeline (`ingest drill`, `ingest dev`) take like a generated `REGISTRY`:
//!
//! ```
//! use ingest_codegen::EventInput;
//! use ingest_runtime::{RecordOutcome, Validator};
//! use serde_json::json;
//!
//! let schema_json = json!({
//!     "type": "object",
//!     "required": ["user_id"],
//!     "properties": {"user_id": {"type": "integer", "minimum": 1}}
//! });
//! let schema = ingest_codegen::schema::parse(&schema_json).expect("a valid schema");
//! let registry = ingest_eval::registry(&[EventInput {
//!     type_name: "user.seen",
//!     description: Some("A user was seen."),
//!     schema: &schema,
//!     schema_json: &schema_json,
//! }])
//! .expect("compiles");
//!
//! let validator = Validator::new(&registry);
//! let event = br#"{"specversion":"1.0","id":"1","source":"s","type":"user.seen","data":{"user_id":0}}"#;
//! assert!(!validator.is_valid(event));
//! let RecordOutcome::Events { events, .. } = validator.validate(event) else { unreachable!() };
//! let rejection = events[0].result.as_ref().unwrap_err();
//! assert_eq!(rejection.violations[0].pointer, "/data/user_id");
//! assert_eq!(rejection.violations[0].message, "0 is less than the minimum of 1");
//! ```
//!
//! The runtime's pipeline entry points for `ingest dev` take a `&'static Registry` (they hand it
//! to the server's threads); a CLI that builds one registry for the life of the process can
//! leak it (`Box::leak(Box::new(registry))`).

mod compile;
mod program;
mod run;

pub use compile::CompileError;
pub use program::Program;

use std::sync::Arc;

use ingest_codegen::EventInput;
use ingest_runtime::envelope::DuplicateType;
use ingest_runtime::{DynamicEventType, Registry};

/// Why a registry could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// An event type's schema did not compile.
    #[error("event type {type_name:?}: {error}")]
    Schema {
        /// The CloudEvents `type`.
        type_name: String,
        /// What is wrong with its schema.
        error: CompileError,
    },
    /// Two event types have the same CloudEvents `type`.
    #[error(transparent)]
    DuplicateType(#[from] DuplicateType),
}

/// A registry of a spec's event types whose validators are compiled [`Program`]s: what
/// `validate`, `drill` and `dev` run without building the spec's events crate. Verdicts and
/// violations are those of the registry that `ingest synth` generates for the same events.
pub fn registry(events: &[EventInput<'_>]) -> Result<Registry, RegistryError> {
    let types = events
        .iter()
        .map(|event| {
            let program =
                Program::compile(event.schema).map_err(|error| RegistryError::Schema {
                    type_name: event.type_name.to_owned(),
                    error,
                })?;
            Ok(DynamicEventType {
                type_name: event.type_name.to_owned(),
                description: event.description.unwrap_or_default().to_owned(),
                validator: Arc::new(program),
            })
        })
        .collect::<Result<Vec<_>, RegistryError>>()?;
    Ok(Registry::dynamic(types)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ingest_codegen::schema::{Document, Schema, SchemaObject, parse};
    use serde_json::json;

    #[test]
    fn a_pattern_that_does_not_compile_is_an_error_at_its_pointer() {
        let property = SchemaObject {
            pattern: Some("(".to_owned()),
            ..SchemaObject::default()
        };
        let schema = Document::new(Schema::Object(Box::new(SchemaObject {
            properties: vec![("a/b".to_owned(), Schema::Object(Box::new(property)))],
            ..SchemaObject::default()
        })));
        let error = Program::compile(&schema).unwrap_err();
        assert_eq!(error.pointer, "/properties/a~1b/pattern");
        assert!(
            error.to_string().starts_with(
                "`pattern` at `/properties/a~1b/pattern` is not a valid regular expression"
            ),
            "{error}"
        );
    }

    #[test]
    fn a_registry_names_the_type_whose_schema_fails_and_refuses_duplicates() {
        let value = json!({"type": "string"});
        let schema = parse(&value).unwrap();
        let bad = Document::new(Schema::Object(Box::new(SchemaObject {
            pattern: Some("[".to_owned()),
            ..SchemaObject::default()
        })));
        let input = |type_name, schema| EventInput {
            type_name,
            description: None,
            schema,
            schema_json: &value,
        };
        let error = registry(&[input("a", &schema), input("b", &bad)]).unwrap_err();
        assert!(
            matches!(&error, RegistryError::Schema { type_name, .. } if type_name == "b"),
            "{error}"
        );
        assert_eq!(
            registry(&[input("a", &schema), input("a", &schema)]).unwrap_err(),
            RegistryError::DuplicateType(DuplicateType("a".to_owned()))
        );
        let ok = registry(&[input("b", &schema), input("a", &schema)]).unwrap();
        assert_eq!(
            ok.types().map(|t| t.type_name).collect::<Vec<_>>(),
            ["a", "b"]
        );
    }

    #[test]
    fn one_program_gives_the_fast_verdict_and_the_report() {
        let value = json!({
            "type": "object",
            "required": ["id"],
            "additionalProperties": false,
            "properties": {"id": {"type": "string", "format": "uuid"}, "n": {"type": "integer", "maximum": 3}}
        });
        let program = Program::compile(&parse(&value).unwrap()).unwrap();
        assert!(program.is_valid(br#"{"id":"2eb8aa08-aa98-11ea-b4aa-73b441d16380","n":3}"#));
        let bad = br#"{"n":4.5,"x":1}"#;
        assert!(!program.is_valid(bad));
        let found: Vec<(String, &str)> = program
            .violations(bad)
            .unwrap()
            .into_iter()
            .map(|v| (v.pointer, v.keyword))
            .collect();
        assert_eq!(
            found,
            [
                ("/n".to_owned(), "type"),
                ("/n".to_owned(), "maximum"),
                ("/x".to_owned(), "additionalProperties"),
                (String::new(), "required"),
            ]
        );
        assert!(
            program.violations(br#"{"id":"a","id":"b"}"#).is_err(),
            "duplicate keys are not JSON here"
        );
    }

    #[test]
    fn a_recursive_reference_as_the_items_schema_checks_every_level() {
        // While `node` compiles, its `items` reach the slot reserved for it, which must not be
        // taken for `items: true`.
        let value = json!({
            "$ref": "#/$defs/node",
            "$defs": {"node": {
                "type": "object",
                "required": ["id"],
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}}
            }}
        });
        let program = Program::compile(&parse(&value).unwrap()).unwrap();
        assert!(program.is_valid(br#"{"id":1,"children":[{"id":2,"children":[]}]}"#));
        for bad in [
            &br#"{"id":1,"children":[null]}"#[..],
            br#"{"id":1,"children":[{}]}"#,
        ] {
            assert!(!program.is_valid(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
