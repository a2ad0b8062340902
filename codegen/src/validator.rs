//! The validator model and its expansion into Rust: what `#[derive(Event)]` emits.
//!
//! A [`Node`] holds every assertion keyword of the subset for one position in a JSON document.
//! Its children are either inline nodes or other Rust types that implement
//! `ingest_runtime::Event` (a nested struct or enum with its own derive). The derive builds the
//! model from a type's attributes; [`expand`] turns it into one `impl Event`, whose code reads
//! the JSON once with `ingest_runtime::json::Parser` and checks each keyword as soon as its
//! value is read: a property's value is checked before the next key is read, a string's format
//! before the next token. Nothing is materialized except where a keyword needs whole values
//! (`enum` and `const` over non-strings, `uniqueItems`), and then only that value.
//!
//! Every check goes through `ingest_runtime::Checker`, which either stops at the first
//! violation (the fast path) or records it with its pointer (the report): one generated body,
//! two behaviours, so the two paths agree on every input by construction.

use std::collections::BTreeSet;

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Number, Value};

use crate::schema::{Format, InstanceType};

/// The assertions at one position of a JSON document. `Node::default()` accepts any value.
#[derive(Debug, Clone, Default)]
pub struct Node {
    /// Allowed JSON types; `None` allows every type. `number` admits integers.
    pub types: Option<BTreeSet<InstanceType>>,
    /// The `false` schema: no value is allowed.
    pub never: bool,
    /// `minLength`
    pub min_length: Option<u64>,
    /// `maxLength`
    pub max_length: Option<u64>,
    /// `pattern`
    pub pattern: Option<String>,
    /// `format`
    pub format: Option<Format>,
    /// `minimum`
    pub minimum: Option<Number>,
    /// `maximum`
    pub maximum: Option<Number>,
    /// `exclusiveMinimum`
    pub exclusive_minimum: Option<Number>,
    /// `exclusiveMaximum`
    pub exclusive_maximum: Option<Number>,
    /// `multipleOf`
    pub multiple_of: Option<Number>,
    /// `minItems`
    pub min_items: Option<u64>,
    /// `maxItems`
    pub max_items: Option<u64>,
    /// `uniqueItems`
    pub unique_items: bool,
    /// `items`; `None` allows any element.
    pub items: Option<Child>,
    /// `properties` with `required` folded in.
    pub properties: Vec<Property>,
    /// `additionalProperties`
    pub additional: Additional,
    /// `minProperties`
    pub min_properties: Option<u64>,
    /// `maxProperties`
    pub max_properties: Option<u64>,
    /// `enum`
    pub enum_values: Option<Vec<Value>>,
    /// `const`
    pub const_value: Option<Value>,
}

/// A declared property.
#[derive(Debug, Clone)]
pub struct Property {
    /// The key in JSON.
    pub name: String,
    /// Whether the key must be present.
    pub required: bool,
    /// The schema of its value.
    pub child: Child,
}

/// What `additionalProperties` says about keys that no property declares.
#[derive(Debug, Clone, Default)]
pub enum Additional {
    /// Any key, any value (the keyword is absent or `true`).
    #[default]
    Allowed,
    /// No other key (`false`).
    Denied,
    /// Other keys' values must match this schema.
    Schema(Box<Child>),
}

/// The schema of a child position.
#[derive(Debug, Clone)]
pub enum Child {
    /// Checked by code generated in place.
    Inline(Box<Node>),
    /// Checked by another type's `ingest_runtime::Event` implementation.
    Type {
        /// The type, as written (`CreatedBy`).
        path: TokenStream,
        /// Whether `null` is allowed instead.
        nullable: bool,
    },
}

impl Node {
    fn allows(&self, t: InstanceType) -> bool {
        match &self.types {
            None => true,
            Some(types) => {
                types.contains(&t)
                    || (t == InstanceType::Integer && types.contains(&InstanceType::Number))
            }
        }
    }

    fn is_trivial(&self) -> bool {
        self.types.is_none()
            && !self.never
            && self.min_length.is_none()
            && self.max_length.is_none()
            && self.pattern.is_none()
            && self.format.is_none()
            && self.minimum.is_none()
            && self.maximum.is_none()
            && self.exclusive_minimum.is_none()
            && self.exclusive_maximum.is_none()
            && self.multiple_of.is_none()
            && self.min_items.is_none()
            && self.max_items.is_none()
            && !self.unique_items
            && self.items.is_none()
            && self.properties.is_empty()
            && matches!(self.additional, Additional::Allowed)
            && self.min_properties.is_none()
            && self.max_properties.is_none()
            && self.enum_values.is_none()
            && self.const_value.is_none()
    }

    /// Whether only strings can pass the type check.
    fn string_only(&self) -> bool {
        self.types
            .as_ref()
            .is_some_and(|t| t.len() == 1 && t.contains(&InstanceType::String))
    }
}

/// "a string, an integer or null": what the `type` keyword allows, for messages.
pub fn describe_types(types: &BTreeSet<InstanceType>) -> String {
    let words: Vec<&str> = types
        .iter()
        .map(|t| match t {
            InstanceType::Null => "null",
            InstanceType::Boolean => "a boolean",
            InstanceType::Object => "an object",
            InstanceType::Array => "an array",
            InstanceType::Number => "a number",
            InstanceType::String => "a string",
            InstanceType::Integer => "an integer",
        })
        .collect();
    match words.as_slice() {
        [] => "nothing".to_owned(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn num_tokens(n: &Number) -> TokenStream {
    if let Some(u) = n.as_u64() {
        quote!(::ingest_runtime::number::Num::Uint(#u))
    } else if let Some(i) = n.as_i64() {
        quote!(::ingest_runtime::number::Num::Int(#i))
    } else {
        let f = Literal::f64_unsuffixed(n.as_f64().unwrap_or(0.0));
        quote!(::ingest_runtime::number::Num::Float(#f))
    }
}

fn count_tokens(n: u64) -> TokenStream {
    let n = Literal::usize_unsuffixed(usize::try_from(n).unwrap_or(usize::MAX));
    quote!(#n)
}

fn format_tokens(format: Format) -> TokenStream {
    match format {
        Format::DateTime => quote!(::ingest_runtime::format::Format::DateTime),
        Format::Date => quote!(::ingest_runtime::format::Format::Date),
        Format::Uuid => quote!(::ingest_runtime::format::Format::Uuid),
        Format::Email => quote!(::ingest_runtime::format::Format::Email),
    }
}

struct Expander {
    functions: Vec<TokenStream>,
}

impl Expander {
    /// The expression that validates a child at the parser's position.
    fn child_call(&mut self, child: &Child) -> TokenStream {
        match child {
            Child::Inline(node) if node.is_trivial() => quote!(p.skip_value()),
            Child::Inline(node) => {
                let name = self.node(node);
                quote!(#name(p, c))
            }
            Child::Type {
                path,
                nullable: false,
            } => {
                quote!(<#path as ::ingest_runtime::Event>::validate_json(p, c))
            }
            Child::Type {
                path,
                nullable: true,
            } => quote!(
                if p.peek()? == ::ingest_runtime::json::Kind::Null {
                    p.parse_null()
                } else {
                    <#path as ::ingest_runtime::Event>::validate_json(p, c)
                }
            ),
        }
    }

    /// Generates the function for a node and returns its name.
    fn node(&mut self, node: &Node) -> proc_macro2::Ident {
        let index = self.functions.len();
        let name = format_ident!("node_{}", index);
        self.functions.push(TokenStream::new());
        let body = self.body(node);
        self.functions[index] = quote! {
            fn #name<'a>(
                p: &mut ::ingest_runtime::json::Parser<'a>,
                c: &mut ::ingest_runtime::Checker,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                #body
            }
        };
        name
    }

    fn body(&mut self, node: &Node) -> TokenStream {
        if node.never {
            return quote!(c.never(p));
        }
        if node.is_trivial() {
            return quote!(p.skip_value());
        }
        let kind = quote!(::ingest_runtime::json::Kind);
        let expected = node.types.as_ref().map(describe_types).unwrap_or_default();

        let string_enum: Option<Vec<String>> = node.enum_values.as_ref().and_then(|values| {
            values
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect()
        });
        let inline_enum = node.string_only() && string_enum.is_some();
        let inline_const =
            node.string_only() && node.const_value.as_ref().is_some_and(Value::is_string);
        let general_enum = node.enum_values.is_some() && !inline_enum;
        let general_const = node.const_value.is_some() && !inline_const;

        let mut arms = Vec::new();
        let all_kinds = [
            InstanceType::String,
            InstanceType::Number,
            InstanceType::Boolean,
            InstanceType::Null,
            InstanceType::Array,
            InstanceType::Object,
        ];
        let mut missing_kind = false;
        for t in all_kinds {
            let allowed = if t == InstanceType::Number {
                node.allows(InstanceType::Number) || node.allows(InstanceType::Integer)
            } else {
                node.allows(t)
            };
            if !allowed {
                missing_kind = true;
                continue;
            }
            arms.push(match t {
                InstanceType::String => {
                    let checks = self.string_checks(
                        node,
                        inline_enum.then_some(string_enum.as_deref()).flatten(),
                        inline_const,
                    );
                    quote!(#kind::String => { #checks })
                }
                InstanceType::Number => {
                    let checks = self.number_checks(node, &expected);
                    quote!(#kind::Number => { #checks })
                }
                InstanceType::Boolean => quote!(#kind::Bool => { p.parse_bool()?; }),
                InstanceType::Null => quote!(#kind::Null => { p.parse_null()?; }),
                InstanceType::Array => {
                    let checks = self.array_checks(node);
                    quote!(#kind::Array => { #checks })
                }
                InstanceType::Object => {
                    let checks = self.object_checks(node);
                    quote!(#kind::Object => { #checks })
                }
                InstanceType::Integer => unreachable!("integers are read as numbers"),
            });
        }
        if missing_kind {
            arms.push(quote!(other => c.wrong_type(p, other, #expected)?,));
        }
        let start = (general_enum || general_const).then(|| quote!(let start = p.offset();));
        let enum_check = general_enum.then(|| {
            let text = Value::Array(node.enum_values.clone().unwrap_or_default()).to_string();
            quote! {
                static ALLOWED: ::ingest_runtime::__private::LazyLock<::std::vec::Vec<::ingest_runtime::__private::serde_json::Value>> =
                    ::ingest_runtime::__private::LazyLock::new(|| ::ingest_runtime::value::embedded_list(#text));
                c.enum_value(p, start, p.offset(), &ALLOWED)?;
            }
        });
        let const_check = general_const.then(|| {
            let text = node.const_value.clone().unwrap_or_default().to_string();
            quote! {
                static EXPECTED: ::ingest_runtime::__private::LazyLock<::ingest_runtime::__private::serde_json::Value> =
                    ::ingest_runtime::__private::LazyLock::new(|| ::ingest_runtime::value::embedded(#text));
                c.const_value(p, start, p.offset(), &EXPECTED)?;
            }
        });
        quote! {
            let kind = p.peek()?;
            #start
            match kind {
                #(#arms)*
            }
            #enum_check
            #const_check
            Ok(())
        }
    }

    fn string_checks(
        &mut self,
        node: &Node,
        inline_enum: Option<&[String]>,
        inline_const: bool,
    ) -> TokenStream {
        // `read_str` then `last_str` rather than `parse_str`: a `Result<Cow<str>, _>` travels
        // through memory, and reading it back stalls on every string.
        let mut checks = vec![quote!(p.read_str()?; let s = p.last_str();)];
        if let Some(min) = node.min_length {
            let min = count_tokens(min);
            checks.push(quote!(c.min_length(&s, #min)?;));
        }
        if let Some(max) = node.max_length {
            let max = count_tokens(max);
            checks.push(quote!(c.max_length(&s, #max)?;));
        }
        if let Some(pattern) = &node.pattern {
            checks.push(quote! {
                static PATTERN: ::ingest_runtime::__private::LazyLock<::ingest_runtime::__private::Regex> =
                    ::ingest_runtime::__private::LazyLock::new(|| ::ingest_runtime::__private::regex(#pattern));
                c.pattern(&s, &PATTERN)?;
            });
        }
        if let Some(format) = node.format {
            let format = format_tokens(format);
            checks.push(quote!(c.format(&s, #format)?;));
        }
        if let Some(values) = inline_enum {
            checks.push(quote! {
                match ::core::convert::AsRef::<str>::as_ref(&s) {
                    #(#values)|* => {}
                    _ => c.not_in_enum(&s, &[#(#values),*])?,
                }
            });
        }
        if inline_const && let Some(Value::String(expected)) = &node.const_value {
            checks.push(quote! {
                if ::core::convert::AsRef::<str>::as_ref(&s) != #expected {
                    c.not_const(&s, #expected)?;
                }
            });
        }
        quote!(#(#checks)*)
    }

    fn number_checks(&mut self, node: &Node, expected: &str) -> TokenStream {
        let mut checks = vec![quote!(let n = p.parse_number()?;)];
        if !node.allows(InstanceType::Number) {
            checks.push(quote!(if !n.is_integer() { c.not_integer(n, #expected)?; }));
        }
        for (value, method) in [
            (&node.minimum, quote!(minimum)),
            (&node.maximum, quote!(maximum)),
            (&node.exclusive_minimum, quote!(exclusive_minimum)),
            (&node.exclusive_maximum, quote!(exclusive_maximum)),
            (&node.multiple_of, quote!(multiple_of)),
        ] {
            if let Some(limit) = value {
                let limit = num_tokens(limit);
                checks.push(quote!(c.#method(n, #limit)?;));
            }
        }
        quote!(#(#checks)*)
    }

    fn array_checks(&mut self, node: &Node) -> TokenStream {
        let item = match &node.items {
            Some(child) => self.child_call(child),
            None => quote!(p.skip_value()),
        };
        let unique = node.unique_items;
        let spans_decl = unique.then(
            || quote!(let mut spans: ::std::vec::Vec<(usize, usize)> = ::std::vec::Vec::new();),
        );
        let span_start = unique.then(|| quote!(p.peek()?; let item_start = p.offset();));
        let span_push = unique.then(|| quote!(spans.push((item_start, p.offset()));));
        let unique_check = unique.then(|| quote!(c.unique_items(p, &spans)?;));
        let min = node.min_items.map(|n| {
            let n = count_tokens(n);
            quote!(c.min_items(count, #n)?;)
        });
        let max = node.max_items.map(|n| {
            let n = count_tokens(n);
            quote!(c.max_items(count, #n)?;)
        });
        quote! {
            p.begin_array()?;
            let mut first = true;
            let mut count = 0usize;
            #spans_decl
            while p.next_element(&mut first)? {
                c.enter_index(count);
                #span_start
                #item?;
                #span_push
                c.leave();
                count += 1;
            }
            #min
            #max
            #unique_check
        }
    }

    fn object_checks(&mut self, node: &Node) -> TokenStream {
        let other = match &node.additional {
            Additional::Allowed => quote!(p.skip_value()?;),
            Additional::Denied => quote!(c.not_allowed(p, &key)?;),
            Additional::Schema(child) => {
                let call = self.child_call(child);
                quote! {
                    c.enter_key(&key);
                    #call?;
                    c.leave();
                }
            }
        };
        let count_properties = node.min_properties.is_some() || node.max_properties.is_some();
        let count_decl = count_properties.then(|| quote!(let mut count = 0usize;));
        let count_inc = count_properties.then(|| quote!(count += 1;));
        let min = node.min_properties.map(|n| {
            let n = count_tokens(n);
            quote!(c.min_properties(count, #n)?;)
        });
        let max = node.max_properties.map(|n| {
            let n = count_tokens(n);
            quote!(c.max_properties(count, #n)?;)
        });
        let other_arm = quote! {
            ::ingest_runtime::check::note_key(p, &mut others, &key)?;
            #other
        };
        if node.properties.is_empty() {
            return quote! {
                p.begin_object()?;
                let mut first = true;
                let mut others = ::ingest_runtime::json::KeySet::default();
                #count_decl
                while p.read_key(&mut first)? {
                    let key = p.last_str();
                    #count_inc
                    #other_arm
                }
                #min
                #max
            };
        }
        let count = node.properties.len();
        let mut arms = Vec::new();
        let mut required = Vec::new();
        for (index, property) in node.properties.iter().enumerate() {
            let name = &property.name;
            let call = self.child_call(&property.child);
            arms.push(quote! {
                #name => {
                    if seen[#index] {
                        return ::core::result::Result::Err(p.duplicate_key(&key));
                    }
                    seen[#index] = true;
                    c.enter_key(#name);
                    #call?;
                    c.leave();
                }
            });
            if property.required {
                required.push(quote!(if !seen[#index] { c.missing(#name)?; }));
            }
        }
        quote! {
            p.begin_object()?;
            let mut first = true;
            let mut seen = [false; #count];
            let mut others = ::ingest_runtime::json::KeySet::default();
            #count_decl
            while p.read_key(&mut first)? {
                let key = p.last_str();
                #count_inc
                match ::core::convert::AsRef::<str>::as_ref(&key) {
                    #(#arms)*
                    _ => { #other_arm }
                }
            }
            #(#required)*
            #min
            #max
        }
    }
}

/// The `impl ingest_runtime::Event` for a type whose schema is `node`.
pub fn expand(ty: &syn::Ident, generics: &syn::Generics, node: &Node) -> TokenStream {
    let mut expander = Expander {
        functions: Vec::new(),
    };
    let root = expander.node(node);
    let functions = expander.functions;
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        #[allow(clippy::all, clippy::pedantic, unused_mut, unused_variables, non_snake_case)]
        impl #impl_generics ::ingest_runtime::Event for #ty #ty_generics #where_clause {
            fn validate_json(
                p: &mut ::ingest_runtime::json::Parser<'_>,
                c: &mut ::ingest_runtime::Checker,
            ) -> ::core::result::Result<(), ::ingest_runtime::json::Error> {
                #(#functions)*
                #root(p, c)
            }
        }
    }
}

/// The model of a parsed schema with every child inline (for tools and tests that validate a
/// schema without declaring Rust types).
pub fn from_schema(schema: &crate::schema::Schema) -> Node {
    use crate::schema::Schema;
    let object = match schema {
        Schema::Bool(true) => return Node::default(),
        Schema::Bool(false) => {
            return Node {
                never: true,
                ..Node::default()
            };
        }
        Schema::Object(object) => object,
    };
    let inline = |s: &Schema| Child::Inline(Box::new(from_schema(s)));
    let mut properties: Vec<Property> = object
        .properties
        .iter()
        .map(|(name, s)| Property {
            name: name.clone(),
            required: object.required.contains(name),
            child: inline(s),
        })
        .collect();
    for name in &object.required {
        if object.property(name).is_none() {
            properties.push(Property {
                name: name.clone(),
                required: true,
                child: Child::Inline(Box::default()),
            });
        }
    }
    Node {
        types: object.types.clone(),
        never: false,
        min_length: object.min_length,
        max_length: object.max_length,
        pattern: object.pattern.clone(),
        format: object.format,
        minimum: object.minimum.clone(),
        maximum: object.maximum.clone(),
        exclusive_minimum: object.exclusive_minimum.clone(),
        exclusive_maximum: object.exclusive_maximum.clone(),
        multiple_of: object.multiple_of.clone(),
        min_items: object.min_items,
        max_items: object.max_items,
        unique_items: object.unique_items,
        items: object.items.as_ref().map(inline),
        properties,
        additional: match &object.additional_properties {
            None | Some(Schema::Bool(true)) => Additional::Allowed,
            Some(Schema::Bool(false)) => Additional::Denied,
            Some(s) => Additional::Schema(Box::new(inline(s))),
        },
        min_properties: object.min_properties,
        max_properties: object.max_properties,
        enum_values: object.enum_values.clone(),
        const_value: object.const_value.clone(),
    }
}
