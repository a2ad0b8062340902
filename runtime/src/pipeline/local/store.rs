//! S3: buckets as folders of files, or in memory.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::super::lever::{
    LifecycleRule, SwitchLifecycle, SwitchObject, SwitchStore, writer_lock_policy,
};
use super::super::{ErrorKind, InfraError, ObjectStore, Service};
use super::{Faults, lock};

/// Buckets as folders of files, or in memory.
#[derive(Debug, Default)]
pub struct LocalStore {
    root: Option<PathBuf>,
    memory: Mutex<BTreeMap<(String, String), Vec<u8>>>,
    faults: Mutex<BTreeMap<String, Arc<Faults>>>,
    puts: AtomicU64,
}

impl LocalStore {
    /// Buckets in memory.
    pub fn memory() -> Self {
        LocalStore::default()
    }

    /// Buckets as folders under `root` (`root/<bucket>/<key>`).
    pub fn dir(root: impl Into<PathBuf>) -> Self {
        LocalStore {
            root: Some(root.into()),
            ..LocalStore::default()
        }
    }

    /// The failures of a bucket.
    pub fn faults(&self, bucket: &str) -> Arc<Faults> {
        Arc::clone(lock(&self.faults).entry(bucket.to_owned()).or_default())
    }

    /// Successful puts so far.
    pub fn puts(&self) -> u64 {
        self.puts.load(Ordering::SeqCst)
    }

    fn path(&self, root: &Path, bucket: &str, key: &str) -> PathBuf {
        let mut path = root.join(bucket);
        for part in key
            .split('/')
            .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        {
            path.push(part);
        }
        path
    }

    /// Every key of a bucket under a prefix, sorted (no faults apply).
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<String> {
        match &self.root {
            None => lock(&self.memory)
                .keys()
                .filter(|(b, k)| b == bucket && k.starts_with(prefix))
                .map(|(_, k)| k.clone())
                .collect(),
            Some(root) => {
                let base = root.join(bucket);
                let mut keys = Vec::new();
                let mut stack = vec![base.clone()];
                while let Some(dir) = stack.pop() {
                    let Ok(entries) = std::fs::read_dir(&dir) else {
                        continue;
                    };
                    for entry in entries.flatten() {
                        let path = entry.path();
                        if path.is_dir() {
                            stack.push(path);
                        } else if let Ok(relative) = path.strip_prefix(&base) {
                            let key = relative.to_string_lossy().replace('\\', "/");
                            if key.starts_with(prefix) && !key.ends_with(".partial") {
                                keys.push(key);
                            }
                        }
                    }
                }
                keys.sort();
                keys
            }
        }
    }

    /// An object's bytes (no faults apply).
    pub fn read(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        match &self.root {
            None => lock(&self.memory)
                .get(&(bucket.to_owned(), key.to_owned()))
                .cloned(),
            Some(root) => std::fs::read(self.path(root, bucket, key)).ok(),
        }
    }

    fn write(&self, bucket: &str, key: &str, body: Vec<u8>) -> Result<(), InfraError> {
        match &self.root {
            None => {
                lock(&self.memory).insert((bucket.to_owned(), key.to_owned()), body);
            }
            Some(root) => {
                let path = self.path(root, bucket, key);
                let io = |e: std::io::Error| {
                    InfraError::new(
                        Service::S3,
                        "PutObject",
                        ErrorKind::Unavailable,
                        e.to_string(),
                    )
                };
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(io)?;
                }
                let partial = path.with_extension("partial");
                std::fs::write(&partial, body).map_err(io)?;
                std::fs::rename(&partial, &path).map_err(io)?;
            }
        }
        self.puts.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

impl ObjectStore for LocalStore {
    fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<(), InfraError>> + Send {
        let result = self
            .faults(bucket)
            .check(Service::S3, "PutObject")
            .and_then(|()| self.write(bucket, key, body));
        std::future::ready(result)
    }

    fn get_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, InfraError>> + Send {
        let result = self
            .faults(bucket)
            .check(Service::S3, "GetObject")
            .and_then(|()| {
                self.read(bucket, key).ok_or_else(|| {
                    InfraError::new(
                        Service::S3,
                        "GetObject",
                        ErrorKind::NotFound,
                        format!("NoSuchKey: s3://{bucket}/{key}"),
                    )
                })
            });
        std::future::ready(result)
    }
}

/// The lever's view of a local bucket: nothing deletes a local switch or changes a local
/// bucket's settings, so a switch is there or was never set, and the history is kept.
impl SwitchStore for LocalStore {
    fn read_switch(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<SwitchObject, InfraError>> + Send {
        let result = self
            .faults(bucket)
            .check(Service::S3, "ListObjectVersions")
            .map(|()| {
                self.read(bucket, key)
                    .map_or(SwitchObject::NeverSet, SwitchObject::Current)
            });
        std::future::ready(result)
    }

    fn versioning_enabled(
        &self,
        bucket: &str,
    ) -> impl Future<Output = Result<bool, InfraError>> + Send {
        std::future::ready(
            self.faults(bucket)
                .check(Service::S3, "GetBucketVersioning")
                .map(|()| true),
        )
    }

    fn lifecycle_rules(
        &self,
        bucket: &str,
        expected: SwitchLifecycle,
    ) -> impl Future<Output = Result<Option<Vec<LifecycleRule>>, InfraError>> + Send {
        std::future::ready(
            self.faults(bucket)
                .check(Service::S3, "GetBucketLifecycleConfiguration")
                .map(|()| Some(expected.rules())),
        )
    }

    fn bucket_policy(
        &self,
        bucket: &str,
        operator_role_arn: &str,
    ) -> impl Future<Output = Result<Option<String>, InfraError>> + Send {
        std::future::ready(
            self.faults(bucket)
                .check(Service::S3, "GetBucketPolicy")
                .map(|()| Some(writer_lock_policy(bucket, operator_role_arn))),
        )
    }
}
