//! `ingest package [SPEC] [--arch arm64|x86_64] [--out DIR]`: the spec's Lambda `bootstrap`,
//! built for `provided.al2023` and zipped reproducibly.
//!
//! 1. The spec is checked; the architecture defaults to its `functions.architecture`.
//! 2. Before anything is built, the toolchain is checked ([`preflight`]): the Rust standard
//!    library of the target (`aarch64-unknown-linux-gnu` or `x86_64-unknown-linux-gnu`) must be
//!    installed, and when the target is not the host's, so must the GNU cross compiler that
//!    links it (`aarch64-linux-gnu-gcc`). A missing piece is an error naming the command that
//!    installs it. The linker is passed to cargo as `CARGO_TARGET_<TRIPLE>_LINKER` (and the C
//!    compiler of build scripts as `CC_<triple>`) for this one invocation, never through a
//!    committed `.cargo/config.toml` that would change everyone's builds.
//! 3. The spec's events and functions crates, exactly as `ingest synth` generates them, are
//!    written to the spec's staging workspace in the cache ([`crate::staging`]: with the
//!    runtime, macros and codegen sources embedded in this binary, so no ingest checkout is
//!    needed; only files that changed, so cargo rebuilds only what changed), and built there
//!    with `cargo build --release --target <triple>` into the cache's own target folder. So it
//!    works for a spec anywhere on disk, from an installed `ingest`, never waits on the lock of
//!    a workspace's `target/`, and does not depend on `generated/` being current. The staging
//!    workspace's release profile ([`RELEASE_PROFILE`]) is sized for Lambda, where the zip's
//!    size is part of every cold start: fat LTO over one codegen unit, the SDK's code optimized
//!    for size (`opt-level = "z"`) and the per-record path for speed, symbols stripped. Panics
//!    unwind: `lambda_runtime` 1.5 wraps the handler in a layer that catches a panic and
//!    reports it as the invocation's error (the event source mapping then retries the batch)
//!    while the process keeps serving; with `panic = "abort"` the process would die, Lambda
//!    would report `Runtime.ExitError`, and the next invocation would pay a cold start. The
//!    handlers are built not to panic (property tests, fuzzing), so unwinding costs size only
//!    (its `.gcc_except_table` is 0.3 MB of the arm64 `bootstrap`'s 7.8 MB), not time.
//! 4. The binary is checked against the glibc of `provided.al2023` ([`AL2023_GLIBC`]): no
//!    versioned symbol may need more.
//! 5. It is zipped as `bootstrap`, mode `0755`, with a fixed timestamp (1980-01-01 00:00) and
//!    nothing else that varies ([`zip_bootstrap`]): the same binary always gives the same zip
//!    bytes. The zip is written atomically to `--out` (a folder, or a path ending in `.zip`;
//!    default `dist/<name>/bootstrap.zip`), and its size and SHA-256 are printed.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use flate2::Compression;
use flate2::write::DeflateEncoder;
use ingest_codegen::functions::{bootstrap_bin_name, functions_package_name};
use sha2::{Digest, Sha256};

use crate::plan::Plan;
use crate::staging;

/// The newest glibc symbol version `provided.al2023` offers (Amazon Linux 2023 has glibc 2.34).
pub const AL2023_GLIBC: (u32, u32) = (2, 34);

/// The release profile of the staging workspace (see the module documentation): one
/// codegen unit and fat LTO, so the linker sees the whole program and drops what no role
/// calls; the AWS SDK, TLS, HTTP and logging code (everything but the crates listed after it)
/// optimized for size with `"z"` (`"s"` with a lower inlining threshold: 7.7% off the arm64
/// `bootstrap`, BENCHMARKS.md), since it runs a few calls per invocation; the per-record path
/// (the validators of the events crate, `ingest-runtime`, JSON, base64 and gzip) for speed; panics
/// unwind, so `lambda_runtime` turns a handler panic into that invocation's error and the
/// process keeps serving; no debug info, symbols stripped.
pub const RELEASE_PROFILE: &str = r#"[profile.release]
opt-level = 3
debug = false
strip = "symbols"
lto = "fat"
codegen-units = 1
panic = "unwind"

[profile.release.package."*"]
opt-level = "z"

[profile.release.package.ingest-runtime]
opt-level = 3

[profile.release.package.serde_json]
opt-level = 3

[profile.release.package.base64]
opt-level = 3

[profile.release.package.flate2]
opt-level = 3

[profile.release.package.zlib-rs]
opt-level = 3
"#;

/// The Unix mode of `bootstrap` in the zip.
pub const BOOTSTRAP_MODE: u32 = 0o100_755;

/// Why the Lambda artifact could not be built.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PackageError {
    /// The toolchain lacks the target's standard library or its linker.
    #[error("cannot build for {arch}: {}", missing.join("; "))]
    #[diagnostic(code(ingest::toolchain), help("{}", install.join("\n")))]
    Toolchain {
        /// The architecture asked for.
        arch: &'static str,
        /// What is missing, one phrase each.
        missing: Vec<String>,
        /// The commands that install it, one per missing piece.
        install: Vec<String>,
    },
    /// The plan names an architecture Lambda does not have.
    #[error("unknown architecture {0:?}")]
    #[diagnostic(code(ingest::architecture), help("use arm64 or x86_64"))]
    UnknownArchitecture(String),
    /// cargo could not be started.
    #[error("packaging compiles the spec's Lambda with cargo, and cargo cannot be run")]
    #[diagnostic(
        code(ingest::cargo_missing),
        help(
            "install Rust with https://rustup.rs (or set CARGO to cargo's path); check, synth, \
             validate, drill and dev need no cargo"
        )
    )]
    Cargo(#[source] std::io::Error),
    /// cargo failed; its own output was shown above.
    #[error("building {package} failed: cargo exited with {status}")]
    #[diagnostic(code(ingest::package_build))]
    Build {
        /// The functions crate.
        package: String,
        /// How cargo exited.
        status: std::process::ExitStatus,
    },
    /// The binary needs a newer glibc than Lambda's runtime has.
    #[error(
        "{} needs GLIBC_{}.{}, but provided.al2023 has glibc {}.{}: it would not start in Lambda",
        binary.display(), needed.0, needed.1, AL2023_GLIBC.0, AL2023_GLIBC.1
    )]
    #[diagnostic(
        code(ingest::glibc),
        help("build on a machine whose glibc is 2.34 or older, or for the other architecture")
    )]
    Glibc {
        /// The binary.
        binary: PathBuf,
        /// The newest version it needs.
        needed: (u32, u32),
    },
    /// A bootstrap too large for a zip without zip64.
    #[error("a bootstrap of {0} bytes is too large to zip")]
    #[diagnostic(code(ingest::bootstrap_size))]
    TooLarge(usize),
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    #[diagnostic(code(ingest::read))]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}", path.display())]
    #[diagnostic(code(ingest::write))]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
}

impl PackageError {
    fn write(path: &Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| PackageError::Write { path, source }
    }
}

/// A Lambda architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Arch {
    /// Graviton (`aarch64-unknown-linux-gnu`).
    #[value(name = "arm64")]
    Arm64,
    /// Intel and AMD (`x86_64-unknown-linux-gnu`).
    #[value(name = "x86_64")]
    X86_64,
}

impl Arch {
    /// From a plan's `functions.architecture`.
    pub fn from_plan(architecture: &str) -> Option<Arch> {
        match architecture {
            "arm64" => Some(Arch::Arm64),
            "x86_64" => Some(Arch::X86_64),
            _ => None,
        }
    }

    /// Lambda's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::Arm64 => "arm64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// The CPU as Rust names it (`std::env::consts::ARCH`).
    pub fn cpu(self) -> &'static str {
        match self {
            Arch::Arm64 => "aarch64",
            Arch::X86_64 => "x86_64",
        }
    }

    /// The Rust target.
    pub fn triple(self) -> &'static str {
        match self {
            Arch::Arm64 => "aarch64-unknown-linux-gnu",
            Arch::X86_64 => "x86_64-unknown-linux-gnu",
        }
    }

    /// The GNU cross compiler that links for this architecture on another host.
    pub fn cross_gcc(self) -> &'static str {
        match self {
            Arch::Arm64 => "aarch64-linux-gnu-gcc",
            Arch::X86_64 => "x86_64-linux-gnu-gcc",
        }
    }

    /// The Debian package of [`Arch::cross_gcc`].
    pub fn cross_gcc_package(self) -> &'static str {
        match self {
            Arch::Arm64 => "gcc-aarch64-linux-gnu",
            Arch::X86_64 => "gcc-x86-64-linux-gnu",
        }
    }

    /// The cargo variable naming the target's linker.
    pub fn linker_variable(self) -> String {
        format!(
            "CARGO_TARGET_{}_LINKER",
            self.triple().to_ascii_uppercase().replace('-', "_")
        )
    }
}

/// What the machine has, as [`preflight`] needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Toolchain {
    /// The CPU `ingest` runs on.
    pub host_cpu: String,
    /// Whether the Rust standard library of the target is installed.
    pub target_installed: bool,
    /// The linker cargo is told to use, when building for another CPU (`None`: cargo's
    /// default, the host's `cc`).
    pub linker: Option<String>,
    /// Whether that linker runs.
    pub linker_found: bool,
}

impl Toolchain {
    /// Looks at this machine.
    pub fn probe(arch: Arch) -> Self {
        let host_cpu = std::env::consts::ARCH.to_owned();
        let linker = if host_cpu == arch.cpu() {
            std::env::var(arch.linker_variable()).ok()
        } else {
            Some(
                std::env::var(arch.linker_variable())
                    .unwrap_or_else(|_| arch.cross_gcc().to_owned()),
            )
        };
        let linker_found = linker.as_deref().is_none_or(program_runs);
        Toolchain {
            host_cpu,
            target_installed: target_installed(arch.triple()),
            linker,
            linker_found,
        }
    }
}

/// Whether `rustc` has the standard library of `triple` (its target libdir holds `libstd`).
pub fn target_installed(triple: &str) -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let Ok(output) = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", triple])
        .stderr(Stdio::null())
        .output()
    else {
        return false;
    };
    if !output.status.success() {
        return false;
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries
            .flatten()
            .any(|entry| entry.file_name().to_string_lossy().starts_with("libstd-"))
    })
}

/// Whether a program runs (`<program> --version` succeeds).
pub fn program_runs(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// Checks that the toolchain can build for `arch`; the error names the commands that install
/// what is missing.
pub fn preflight(arch: Arch, toolchain: &Toolchain) -> Result<(), PackageError> {
    let mut missing = Vec::new();
    let mut install = Vec::new();
    if !toolchain.target_installed {
        missing.push(format!(
            "the Rust standard library for {} is not installed",
            arch.triple()
        ));
        install.push(format!("rustup target add {}", arch.triple()));
    }
    if !toolchain.linker_found {
        let linker = toolchain.linker.as_deref().unwrap_or("cc");
        missing.push(format!(
            "the linker {linker} for {} (on this {} host) is not installed",
            arch.triple(),
            toolchain.host_cpu
        ));
        if linker == arch.cross_gcc() {
            install.push(format!("apt-get install {}", arch.cross_gcc_package()));
        } else {
            install.push(format!(
                "install {linker}, or unset {} to use {}",
                arch.linker_variable(),
                arch.cross_gcc()
            ));
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(PackageError::Toolchain {
        arch: arch.as_str(),
        missing,
        install,
    })
}

/// The newest `GLIBC_x.y` symbol version a binary needs, if any.
pub fn max_glibc(binary: &[u8]) -> Option<(u32, u32)> {
    let needle = b"GLIBC_";
    let mut best: Option<(u32, u32)> = None;
    let mut at = 0;
    while let Some(offset) = binary[at..]
        .windows(needle.len())
        .position(|window| window == needle)
    {
        let start = at + offset + needle.len();
        at = start;
        let digits: Vec<u8> = binary[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit() || **b == b'.')
            .copied()
            .collect();
        let text = String::from_utf8_lossy(&digits);
        let mut parts = text.split('.');
        if let (Some(Ok(major)), Some(Ok(minor))) = (
            parts.next().map(str::parse::<u32>),
            parts.next().map(str::parse::<u32>),
        ) {
            best = best.max(Some((major, minor)));
        }
    }
    best
}

/// A zip holding one executable file, `bootstrap`: deflated, mode [`BOOTSTRAP_MODE`], dated
/// 1980-01-01 00:00 (the earliest DOS time), no extra fields, no comment. The same bytes in give
/// the same zip out. Fails only for a binary of 4 GiB or more (zip64 is not written).
pub fn zip_bootstrap(binary: &[u8]) -> Result<Vec<u8>, PackageError> {
    const NAME: &[u8] = b"bootstrap";
    const DOS_TIME: u16 = 0;
    const DOS_DATE: u16 = 1 << 5 | 1; // 1980-01-01
    let too_large = || PackageError::TooLarge(binary.len());
    let size = u32::try_from(binary.len()).map_err(|_| too_large())?;
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    let compressed = encoder
        .write_all(binary)
        .and_then(|()| encoder.finish())
        .expect("deflating into memory cannot fail");
    let compressed_size = u32::try_from(compressed.len()).map_err(|_| too_large())?;
    let mut crc = flate2::Crc::new();
    crc.update(binary);
    let crc = crc.sum();
    let name_len = u16::try_from(NAME.len()).unwrap_or(u16::MAX);

    let mut zip = Vec::with_capacity(compressed.len() + 128);
    // Local file header.
    zip.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    zip.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0 (deflate)
    zip.extend_from_slice(&0u16.to_le_bytes()); // flags
    zip.extend_from_slice(&8u16.to_le_bytes()); // method: deflate
    zip.extend_from_slice(&DOS_TIME.to_le_bytes());
    zip.extend_from_slice(&DOS_DATE.to_le_bytes());
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&compressed_size.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&name_len.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes()); // extra length
    zip.extend_from_slice(NAME);
    zip.extend_from_slice(&compressed);
    // Central directory.
    let directory_offset = u32::try_from(zip.len()).map_err(|_| too_large())?;
    zip.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    zip.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes()); // made by: Unix, zip 2.0
    zip.extend_from_slice(&20u16.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&8u16.to_le_bytes());
    zip.extend_from_slice(&DOS_TIME.to_le_bytes());
    zip.extend_from_slice(&DOS_DATE.to_le_bytes());
    zip.extend_from_slice(&crc.to_le_bytes());
    zip.extend_from_slice(&compressed_size.to_le_bytes());
    zip.extend_from_slice(&size.to_le_bytes());
    zip.extend_from_slice(&name_len.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes()); // extra length
    zip.extend_from_slice(&0u16.to_le_bytes()); // comment length
    zip.extend_from_slice(&0u16.to_le_bytes()); // disk number
    zip.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
    zip.extend_from_slice(&(BOOTSTRAP_MODE << 16).to_le_bytes()); // external: Unix mode
    zip.extend_from_slice(&0u32.to_le_bytes()); // offset of the local header
    zip.extend_from_slice(NAME);
    let directory_size = u32::try_from(zip.len()).map_err(|_| too_large())? - directory_offset;
    // End of central directory.
    zip.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&1u16.to_le_bytes());
    zip.extend_from_slice(&directory_size.to_le_bytes());
    zip.extend_from_slice(&directory_offset.to_le_bytes());
    zip.extend_from_slice(&0u16.to_le_bytes());
    Ok(zip)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut text, byte| {
            let _ = write!(text, "{byte:02x}");
            text
        })
}

/// Builds the plan's `bootstrap` for `arch` in the staging workspace; returns its path.
pub fn build(plan: &Plan, arch: Arch, toolchain: &Toolchain) -> Result<PathBuf, PackageError> {
    let staging = staging::prepare(
        plan,
        &crate::program::cache_root(),
        &crate::program::profiles(),
    )
    .map_err(|error| PackageError::Write {
        path: error.path,
        source: error.source,
    })?;
    let (dir, target) = (staging.dir, staging.target);
    let bin = bootstrap_bin_name(&plan.name);
    eprintln!(
        "building {} for {} (release, {}) in {}...",
        functions_package_name(&plan.name),
        arch.as_str(),
        arch.triple(),
        dir.display()
    );
    let mut command = Command::new(crate::program::cargo());
    command
        .args(["build", "--release", "--quiet", "--target", arch.triple()])
        .args(["--bin", &bin, "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target)
        .stdout(Stdio::null());
    if let Some(linker) = &toolchain.linker {
        command.env(arch.linker_variable(), linker);
        let cc = format!("CC_{}", arch.triple().replace('-', "_"));
        if std::env::var_os(&cc).is_none() {
            command.env(cc, linker);
        }
    }
    let status = command.status().map_err(PackageError::Cargo)?;
    let binary = target.join(arch.triple()).join("release").join(&bin);
    if !status.success() || !binary.exists() {
        return Err(PackageError::Build {
            package: functions_package_name(&plan.name),
            status,
        });
    }
    Ok(binary)
}

/// Where the zip goes: `out` itself when it ends in `.zip`, else `out/bootstrap.zip`; without
/// `out`, `dist/<name>/bootstrap.zip`.
pub fn zip_path(plan: &Plan, out: Option<&Path>) -> PathBuf {
    match out {
        Some(path) if path.extension().is_some_and(|e| e == "zip") => path.to_path_buf(),
        Some(dir) => dir.join("bootstrap.zip"),
        None => Path::new("dist").join(&plan.name).join("bootstrap.zip"),
    }
}

/// What [`package`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    /// The zip.
    pub zip: PathBuf,
    /// Its size in bytes.
    pub zip_bytes: usize,
    /// The size of `bootstrap` in bytes.
    pub bootstrap_bytes: usize,
    /// The architecture.
    pub arch: Arch,
    /// Lowercase hex SHA-256 of the zip.
    pub sha256: String,
}

impl std::fmt::Display for Packaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{}: {} bytes (bootstrap {} bytes, {}, {}, provided.al2023)",
            self.zip.display(),
            self.zip_bytes,
            self.bootstrap_bytes,
            self.arch.as_str(),
            self.arch.triple()
        )?;
        writeln!(f, "sha256 {}", self.sha256)
    }
}

/// The architecture to build: the one asked for, else the plan's.
pub fn arch_for(plan: &Plan, asked: Option<Arch>) -> Result<Arch, PackageError> {
    asked
        .or_else(|| Arch::from_plan(plan.functions.architecture))
        .ok_or_else(|| PackageError::UnknownArchitecture(plan.functions.architecture.to_owned()))
}

/// Builds, checks and zips the plan's `bootstrap` for `arch`, writing the zip atomically to
/// [`zip_path`].
pub fn package(plan: &Plan, arch: Arch, out: Option<&Path>) -> Result<Packaged, PackageError> {
    // Before the toolchain probe: without cargo, its findings (no rustc, no target) would hide
    // the one thing to install.
    crate::program::cargo_runs().map_err(PackageError::Cargo)?;
    let toolchain = Toolchain::probe(arch);
    preflight(arch, &toolchain)?;
    let binary_path = build(plan, arch, &toolchain)?;
    let binary = std::fs::read(&binary_path).map_err(|source| PackageError::Read {
        path: binary_path.clone(),
        source,
    })?;
    if let Some(needed) = max_glibc(&binary).filter(|needed| *needed > AL2023_GLIBC) {
        return Err(PackageError::Glibc {
            binary: binary_path,
            needed,
        });
    }
    let zip = zip_bootstrap(&binary)?;
    let path = zip_path(plan, out);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(PackageError::write(parent))?;
    }
    let temporary = path.with_extension("zip.tmp-ingest");
    std::fs::write(&temporary, &zip)
        .and_then(|()| std::fs::rename(&temporary, &path))
        .map_err(PackageError::write(&path))?;
    Ok(Packaged {
        zip: path,
        zip_bytes: zip.len(),
        bootstrap_bytes: binary.len(),
        arch,
        sha256: sha256_hex(&zip),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toolchain(target: bool, linker: Option<&str>, found: bool) -> Toolchain {
        Toolchain {
            host_cpu: "x86_64".into(),
            target_installed: target,
            linker: linker.map(str::to_owned),
            linker_found: found,
        }
    }

    #[test]
    fn missing_pieces_name_their_install_commands() {
        let error = preflight(
            Arch::Arm64,
            &toolchain(false, Some("aarch64-linux-gnu-gcc"), false),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "cannot build for arm64: the Rust standard library for aarch64-unknown-linux-gnu is not installed; \
             the linker aarch64-linux-gnu-gcc for aarch64-unknown-linux-gnu (on this x86_64 host) is not installed"
        );
        let help =
            |error: &PackageError| miette::Diagnostic::help(error).map(|help| help.to_string());
        assert_eq!(
            help(&error).as_deref(),
            Some(
                "rustup target add aarch64-unknown-linux-gnu\napt-get install gcc-aarch64-linux-gnu"
            )
        );
        let error = preflight(Arch::Arm64, &toolchain(true, Some("my-ld"), false)).unwrap_err();
        assert_eq!(
            help(&error).as_deref(),
            Some(
                "install my-ld, or unset CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER to use aarch64-linux-gnu-gcc"
            ),
        );
        let error = preflight(Arch::X86_64, &toolchain(false, None, true)).unwrap_err();
        assert_eq!(
            help(&error).as_deref(),
            Some("rustup target add x86_64-unknown-linux-gnu")
        );
        assert!(preflight(Arch::X86_64, &toolchain(true, None, true)).is_ok());
    }

    #[test]
    fn the_probe_sees_what_is_installed() {
        let host = match std::env::consts::ARCH {
            "aarch64" => Arch::Arm64,
            _ => Arch::X86_64,
        };
        assert!(target_installed(host.triple()), "the host's own target");
        assert!(!target_installed("powerpc64le-unknown-linux-gnu"));
        assert!(!target_installed("not-a-target"));
        assert!(!program_runs("ingest-no-such-linker-gcc"));
        assert!(Toolchain::probe(host).target_installed);
    }

    #[test]
    fn the_same_binary_gives_the_same_zip() {
        let binary: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let zip = zip_bootstrap(&binary).unwrap();
        assert_eq!(zip, zip_bootstrap(&binary).unwrap());
        assert_ne!(zip, zip_bootstrap(&binary[1..]).unwrap());
        assert_eq!(&zip[..4], b"PK\x03\x04");
        assert_eq!(&zip[30..39], b"bootstrap");
        let end = zip.len() - 22;
        assert_eq!(&zip[end..end + 4], b"PK\x05\x06");
        let directory = u32::from_le_bytes(zip[end + 16..end + 20].try_into().unwrap()) as usize;
        let external = u32::from_le_bytes(zip[directory + 38..directory + 42].try_into().unwrap());
        assert_eq!(external >> 16, 0o100_755);
        let compressed = u32::from_le_bytes(zip[18..22].try_into().unwrap()) as usize;
        let mut inflated = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::DeflateDecoder::new(&zip[39..39 + compressed]),
            &mut inflated,
        )
        .unwrap();
        assert_eq!(inflated, binary);
    }

    #[test]
    fn the_newest_glibc_version_is_found() {
        let binary = b"\0GLIBC_2.2.5\0GLIBC_2.34\0GLIBC_2.17\0GLIBC_PRIVATE\0";
        assert_eq!(max_glibc(binary), Some((2, 34)));
        assert_eq!(max_glibc(b"no versions"), None);
        assert!(max_glibc(b"GLIBC_2.36").unwrap() > AL2023_GLIBC);
    }

    #[test]
    fn the_zip_goes_to_dist_or_out() {
        let plan = crate::check_spec(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../specs/minimal.yaml"
        )))
        .unwrap()
        .plan;
        assert_eq!(
            zip_path(&plan, None),
            Path::new("dist/minimal/bootstrap.zip")
        );
        assert_eq!(
            zip_path(&plan, Some(Path::new("out"))),
            Path::new("out/bootstrap.zip")
        );
        assert_eq!(
            zip_path(&plan, Some(Path::new("x/a.zip"))),
            Path::new("x/a.zip")
        );
        for setting in [
            "strip = \"symbols\"",
            "lto = \"fat\"",
            "codegen-units = 1",
            "panic = \"unwind\"",
            "[profile.release.package.\"*\"]\nopt-level = \"z\"",
            "[profile.release.package.ingest-runtime]\nopt-level = 3",
        ] {
            assert!(
                RELEASE_PROFILE.contains(setting),
                "{setting} in {RELEASE_PROFILE}"
            );
        }
    }
}
