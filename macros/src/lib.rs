//! `#[derive(Event)]`: a validator for a Rust type, from its fields and `#[event(...)]`
//! attributes.
//!
//! The derive is thin, in the habit of serde_derive and clap_derive: [`attr`] parses the
//! attributes, [`model`] checks them against the Rust types (collecting every error with its
//! span, in one pass) and builds the validator model of `ingest-codegen`, and
//! `ingest_codegen::validator::expand` writes the code. When anything is wrong, the output is
//! the errors plus a placeholder `impl Event`, so that one mistake gives one error and not a
//! cascade of "trait not implemented".
//!
//! Use it through `ingest_runtime::Event`, which re-exports it.
//!
//! # What the Rust type says
//!
//! | Rust type | JSON |
//! | --- | --- |
//! | `String` | a string |
//! | `i8`..`i128`, `u8`..`u128`, `isize`, `usize` | an integer (JSON Schema's: `1.0` is one; the range comes only from `minimum`/`maximum`) |
//! | `f32`, `f64` | a number |
//! | `bool` | a boolean |
//! | `()` | `null` |
//! | `serde_json::Value` | any JSON value (narrow it with `type`) |
//! | `Vec<T>` | an array of `T` |
//! | `Option<T>` (field) | may be absent; add `nullable` to allow `null`, `required` to require the key |
//! | `Option<T>` (inside `Vec` or a map) | `T` or `null` |
//! | `Box<T>` | `T` |
//! | a type with its own `#[derive(Event)]` | that type's schema |
//!
//! A struct with named fields is an object: each field is a property (named as the field,
//! or `rename`). An enum of unit variants is a string enum. A tuple struct with one field has
//! the schema of that field plus the struct's attributes.
//!
//! # Attributes
//!
//! Keywords (JSON Schema draft 2020-12 in snake_case), on a field, a tuple struct, a struct
//! (for the object itself), or inside `items(...)`/`values(...)`:
//!
//! - strings: `min_length = N`, `max_length = N` (code points), `pattern = "regex"`,
//!   `format = "date-time" | "date" | "uuid" | "email"`;
//! - numbers: `minimum = X`, `maximum = X`, `exclusive_minimum = X`, `exclusive_maximum = X`,
//!   `multiple_of = X` (X may be negative or fractional: `minimum = -0.5`);
//! - arrays: `min_items = N`, `max_items = N`, `unique_items`, `items(...)` (keywords of each
//!   element);
//! - objects: `min_properties = N`, `max_properties = N`; on a struct,
//!   `additional_properties = false`; a field `#[event(additional)]` of type
//!   `BTreeMap<String, T>` holds the other properties, with `values(...)` for their keywords;
//! - any type: `enum = "<JSON array>"`, `const = "<JSON>"` (JSON text in a string, so any value
//!   can be written: `enum = r#"[1, "a", null]"#`); `type = "string"` or
//!   `type = ["string", "null"]` where the Rust type does not fix it (`serde_json::Value`, or a
//!   struct that also accepts other types); `never` (the `false` schema: the key must be absent).
//! - fields: `rename = "json name"`, `required`, `nullable`, `additional`; variants: `rename`;
//!   inside `items(...)` or `values(...)` of a `serde_json::Value` (whose elements have no
//!   Rust type of their own): `ty = Type` gives the elements' Rust type (`String`, `i64`, or a
//!   type with its own derive).
//! - annotations, checked but never asserted: `title = "..."`, `default = "<JSON>"`,
//!   `examples = "<JSON array>"`; doc comments are the `description`.
//!
//! For example (a compiled, tested example is in the crate docs of `ingest-runtime`, which
//! re-exports this derive):
//!
//! ```text
//! #[derive(Event)]
//! #[event(additional_properties = false)]
//! pub struct ShiftCreated {
//!     #[event(format = "uuid")]
//!     pub shift_id: String,
//!     #[event(minimum = 1, nullable)]
//!     pub user_id: Option<i64>,
//!     #[event(max_items = 10, unique_items, items(min_length = 1, max_length = 32))]
//!     pub labels: Option<Vec<String>>,
//!     pub created_by: CreatedBy,
//! }
//! ```

mod attr;
mod model;

use proc_macro::TokenStream;
use quote::quote;
use syn::{DeriveInput, parse_macro_input};

/// Derives `ingest_runtime::Event`: a one-pass validator generated from the type and its
/// `#[event(...)]` attributes. See the crate documentation for the attributes.
#[proc_macro_derive(Event, attributes(event))]
pub fn derive_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    match model::build(&input) {
        Ok(node) => ingest_codegen::validator::expand(&input.ident, &input.generics, &node).into(),
        Err(errors) => {
            let ident = &input.ident;
            let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
            let errors = errors.to_compile_error();
            quote! {
                #errors
                impl #impl_generics ::ingest_runtime::Event for #ident #ty_generics #where_clause {
                    fn validate_json(
                        _: &mut ::ingest_runtime::json::Parser<'_>,
                        _: &mut ::ingest_runtime::Checker,
                    ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                        ::core::unreachable!("this type failed to derive `Event`")
                    }
                }
            }
            .into()
        }
    }
}
