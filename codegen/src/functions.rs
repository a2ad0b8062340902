//! The functions crate of a spec: `generated/<name>/functions/`.
//!
//! It builds the one Lambda `bootstrap` the stacks deploy three times (validator, receiver,
//! bridge; `INGEST_ROLE` chooses). It links the spec's events crate (`../events`, whose
//! `REGISTRY` the validator judges with) and `ingest-runtime` with the `aws` feature, which
//! holds everything else (configuration, SDK clients, tracing, the handlers); its `main` only
//! wires them to `lambda_runtime`. `lambda_runtime` is reached through the runtime's re-export,
//! so the crate names no versions and builds wherever `ingest-runtime` is found.
//!
//! The binary is named `<name>-bootstrap` (distinct per spec, so the workspace has no two
//! binaries with the same file name); `ingest package` puts it into `bootstrap.zip` as
//! `bootstrap`, the name `provided.al2023` runs. Like the events crate, the output depends only
//! on the inputs and compiles under `#![deny(warnings)]`.

use std::path::PathBuf;

use crate::events::{GeneratedFile, HEADER, RUNTIME_VERSION, package_name};

/// The package name of a spec's functions crate.
pub fn functions_package_name(spec_name: &str) -> String {
    format!("{spec_name}-functions")
}

/// The name of the functions crate's binary (`bootstrap` inside the zip).
pub fn bootstrap_bin_name(spec_name: &str) -> String {
    format!("{spec_name}-bootstrap")
}

/// Every file of a spec's functions crate. `lake` pairs each event type with the Hive type of
/// its table's `data` column, which the validator checks valid events against
/// (`ingest_runtime::pipeline::lake`).
pub fn functions_crate(spec_name: &str, lake: &[(String, String)]) -> Vec<GeneratedFile> {
    vec![
        GeneratedFile {
            path: PathBuf::from("functions/Cargo.toml"),
            contents: cargo_toml(spec_name),
        },
        GeneratedFile {
            path: PathBuf::from("functions/src/main.rs"),
            contents: main_rs(spec_name, lake),
        },
    ]
}

fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

fn cargo_toml(spec_name: &str) -> String {
    let runtime = format!(
        "{{ version = {}, features = [\"aws\"] }}",
        toml_string(RUNTIME_VERSION)
    );
    format!(
        "# {HEADER}\n[package]\nname = {name}\ndescription = {description}\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[[bin]]\nname = {bin}\npath = \"src/main.rs\"\n\n[dependencies]\ningest-runtime = {runtime}\n{events} = {{ path = \"../events\" }}\n",
        name = toml_string(&functions_package_name(spec_name)),
        description = toml_string(&format!(
            "The Lambda bootstrap of the {spec_name} ingest spec: validator, receiver and bridge (generated)."
        )),
        bin = toml_string(&bootstrap_bin_name(spec_name)),
        events = package_name(spec_name),
    )
}

fn main_rs(spec_name: &str, lake: &[(String, String)]) -> String {
    let events = package_name(spec_name).replace('-', "_");
    let columns: String = lake
        .iter()
        .map(|(type_name, hive)| {
            format!("    ({}, {}),\n", toml_string(type_name), toml_string(hive))
        })
        .collect();
    format!(
        r#"// {HEADER}
//! The Lambda `bootstrap` of the `{spec_name}` spec: one binary for the validator, the receiver
//! and the bridge, chosen by `INGEST_ROLE` (see `ingest_runtime::pipeline::function`).
//! `ingest package` builds it for `provided.al2023` and zips it.

#![cfg_attr(rustfmt, rustfmt::skip)]
#![deny(warnings)]

use std::process::ExitCode;

use ingest_runtime::pipeline::function::{{self, AwsFunction, FunctionConfig, lambda_runtime}};
use {events}::REGISTRY;

/// Each event type and the Hive type of its table's `data` column: the validator quarantines a
/// valid event Athena could not read (`ingest_runtime::pipeline::lake`).
static LAKE: &[(&str, &str)] = &[
{columns}];

fn main() -> ExitCode {{
    function::init_tracing();
    let config = match FunctionConfig::from_env().and_then(|config| config.with_lake(LAKE)) {{
        Ok(config) => config,
        Err(error) => {{
            eprintln!("error: {{error}}");
            return ExitCode::FAILURE;
        }}
    }};
    function::block_on(async move {{
        let function = AwsFunction::connect(&REGISTRY, config).await;
        lambda_runtime::run(lambda_runtime::service_fn(|event| function.handle(event))).await
    }})
}}
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thin_main_over_the_events_crate_and_the_runtime() {
        let lake = vec![("order.placed".to_owned(), "struct<total:bigint>".to_owned())];
        let files = functions_crate("shop-orders", &lake);
        assert_eq!(files, functions_crate("shop-orders", &lake));
        let paths: Vec<String> = files.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(paths, ["functions/Cargo.toml", "functions/src/main.rs"]);
        let manifest = &files[0].contents;
        for expected in [
            "# generated by ingest synth - do not edit\n",
            "name = \"shop-orders-functions\"",
            "name = \"shop-orders-bootstrap\"",
            "ingest-runtime = { version = \"0.1.0\", features = [\"aws\"] }",
            "shop-orders-events = { path = \"../events\" }",
        ] {
            assert!(manifest.contains(expected), "{expected:?} in\n{manifest}");
        }
        let main = &files[1].contents;
        assert!(main.starts_with("// generated by ingest synth - do not edit\n"));
        for expected in [
            "#![deny(warnings)]",
            "use shop_orders_events::REGISTRY;",
            "FunctionConfig::from_env().and_then(|config| config.with_lake(LAKE))",
            "(\"order.placed\", \"struct<total:bigint>\"),",
            "lambda_runtime::run(lambda_runtime::service_fn(",
        ] {
            assert!(main.contains(expected), "{expected:?} in\n{main}");
        }
    }
}
