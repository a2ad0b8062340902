//! The threads of a run: the ports on a one-worker tokio runtime, the pipeline on the wall
//! clock, and stopping (close the ports, end the outages, drain).

use std::convert::Infallible;
use std::net::{Ipv4Addr, TcpListener as StdListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::sync::{Notify, Semaphore, watch};

use super::super::local::{
    BatchLog, Clock, LocalPipeline, LocalServices, LocalStore, Rng, Role, Stage,
};
use super::front::{Endpoint, Front};
use super::report::batch_line;
use super::{
    DevAddresses, DevConfig, DevError, DevOptions, DevSummary, Pending, RequestCounts, lock,
};
use crate::envelope::Registry;

/// How long the pipeline sleeps at most when nothing is due.
const IDLE: Duration = Duration::from_secs(1);
/// How long it sleeps at least when something is overdue but cannot go on (a spool object
/// that cannot be written while its bucket is down).
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// How long stopping waits for requests in flight.
const GRACE: Duration = Duration::from_secs(5);
/// How long stopping drains at most.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);

/// A running `ingest dev`: stops (and drains) when dropped.
#[derive(Debug)]
pub struct DevServer {
    addresses: DevAddresses,
    stop: Arc<watch::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<DevSummary>>,
}

impl DevServer {
    /// Binds the three ports on 127.0.0.1 and starts serving and running the pipeline on a
    /// thread of its own.
    pub fn start(
        registry: &'static Registry,
        config: DevConfig,
        options: DevOptions,
    ) -> Result<DevServer, DevError> {
        let bind = |what: &'static str, port: u16| {
            let listener = StdListener::bind((Ipv4Addr::LOCALHOST, port))
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|error| DevError::Listen { what, port, error })?;
            let address =
                listener
                    .local_addr()
                    .map_err(|error| DevError::Listen { what, port, error })?;
            Ok::<_, DevError>((listener, address))
        };
        let (domain, domain_address) = bind("the domain, --port", options.ports.domain)?;
        let (primary, primary_address) =
            bind("the primary, --primary-port", options.ports.primary)?;
        let (secondary, secondary_address) =
            bind("the secondary, --secondary-port", options.ports.secondary)?;
        let addresses = DevAddresses {
            domain: domain_address,
            primary: primary_address,
            secondary: secondary_address,
        };
        std::fs::create_dir_all(&options.out).map_err(DevError::Io)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("ingest-dev-http")
            .thread_stack_size(crate::json::VALIDATION_STACK)
            .enable_io()
            .enable_time()
            .build()
            .map_err(DevError::Io)?;
        let (stop, stopped) = watch::channel(false);
        let stop = Arc::new(stop);
        let listeners = vec![
            (Endpoint::Domain, domain),
            (Endpoint::Region(Role::Primary), primary),
            (Endpoint::Region(Role::Secondary), secondary),
        ];
        let signal_stop = options.stop_on_signals.then(|| Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("ingest-dev".to_owned())
            .stack_size(crate::json::VALIDATION_STACK)
            .spawn(move || {
                runtime.block_on(serve(
                    registry,
                    config,
                    options,
                    listeners,
                    stopped,
                    signal_stop,
                ))
            })
            .map_err(DevError::Io)?;
        Ok(DevServer {
            addresses,
            stop,
            thread: Some(thread),
        })
    }

    /// Where the ports are bound.
    pub fn addresses(&self) -> DevAddresses {
        self.addresses
    }

    /// Stops serving, drains, and returns the summary.
    pub fn stop(mut self) -> DevSummary {
        self.stop.send_replace(true);
        self.join()
    }

    /// Waits until a signal stops it (with `stop_on_signals`), then returns the summary.
    pub fn wait(mut self) -> DevSummary {
        self.join()
    }

    fn join(&mut self) -> DevSummary {
        self.thread
            .take()
            .map(|thread| thread.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.stop.send_replace(true);
            self.join();
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Accepts connections until told to stop, then lets the requests in flight finish.
///
/// Each port holds at most [`DevLimits::connections_per_port`] connections (a permit per
/// connection, given back when it closes; beyond it a connection is closed at once), and hyper
/// closes a connection whose headers take longer than [`DevLimits::header_read_timeout`]
/// (hyper applies no header timeout without a timer, so one is set).
async fn accept(
    front: Arc<Front>,
    endpoint: Endpoint,
    listener: StdListener,
    mut stopped: watch::Receiver<bool>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let Ok(port) = listener.local_addr().map(|a| a.port()) else {
        return;
    };
    let limits = front.limits;
    let connections = Arc::new(Semaphore::new(limits.connections_per_port));
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                // Full: this connection is closed (dropped) unanswered.
                let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                    continue;
                };
                let front = Arc::clone(&front);
                let service = service_fn(move |request| {
                    let front = Arc::clone(&front);
                    async move { Ok::<_, Infallible>(front.handle(endpoint, port, request).await) }
                });
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(limits.header_read_timeout)
                    .serve_connection(TokioIo::new(stream), service);
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                    drop(permit);
                });
            }
            changed = stopped.changed() => {
                if changed.is_err() || *stopped.borrow() {
                    break;
                }
            }
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(GRACE, graceful.shutdown()).await;
}

struct Totals<'a> {
    front: &'a Front,
    summary: DevSummary,
}

impl Totals<'_> {
    fn record(&mut self, logs: Vec<BatchLog>) {
        let mut lines = Vec::new();
        for log in logs {
            match log.stage {
                Stage::Spool => self.summary.spool_objects += 1,
                _ => self.summary.batches += 1,
            }
            self.summary.good += log.good as u64;
            self.summary.quarantined += log.quarantined as u64;
            // The s3:TestEvent S3 sends when the notification is set up is not news.
            if log.stage == Stage::Bridge && log.test_events == log.records {
                continue;
            }
            lines.push((log.at, batch_line(&self.front.services.settings, &log)));
        }
        self.front.write_log(lines);
    }
}

async fn serve(
    registry: &'static Registry,
    config: DevConfig,
    options: DevOptions,
    listeners: Vec<(Endpoint, StdListener)>,
    mut stopped: watch::Receiver<bool>,
    signal_stop: Option<Arc<watch::Sender<bool>>>,
) -> DevSummary {
    let front = Arc::new(Front {
        services: LocalServices::new(config.pipeline, Clock::Wall, LocalStore::dir(&options.out)),
        failover_automatic: config.failover_automatic,
        drained: Mutex::new([false; 2]),
        rng: Mutex::new(Rng::new(
            u64::try_from(Utc::now().timestamp_nanos_opt().unwrap_or_default()).unwrap_or(1)
                ^ u64::from(std::process::id()),
        )),
        requests: Mutex::new(RequestCounts::default()),
        wake: Notify::new(),
        log: Arc::clone(&options.log),
        limits: options.limits,
        pending_log: Mutex::new(Vec::new()),
    });
    if let Some(stop) = signal_stop {
        tokio::spawn(async move {
            signalled().await;
            stop.send_replace(true);
        });
    }
    let servers: Vec<_> = listeners
        .into_iter()
        .map(|(endpoint, listener)| {
            tokio::spawn(accept(
                Arc::clone(&front),
                endpoint,
                listener,
                stopped.clone(),
            ))
        })
        .collect();

    let services = &front.services;
    let mut pipeline = LocalPipeline::new(services, registry);
    let mut totals = Totals {
        front: &front,
        summary: DevSummary {
            out: options.out.clone(),
            ..DevSummary::default()
        },
    };
    loop {
        totals.record(pipeline.step().await);
        if *stopped.borrow() {
            break;
        }
        let runnable = Role::BOTH
            .into_iter()
            .any(|role| pipeline.lag(role) > 0 && !services.is_down(role));
        if runnable {
            tokio::task::yield_now().await;
            continue;
        }
        let wait = pipeline
            .next_due()
            .map_or(IDLE, |at| (at - Utc::now()).to_std().unwrap_or_default())
            .clamp(RETRY_PAUSE, IDLE);
        tokio::select! {
            () = front.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
            changed = stopped.changed() => {
                if changed.is_err() {
                    break;
                }
            }
        }
    }

    // Stop: no new requests; the ones in flight finish.
    for server in servers {
        let _ = server.await;
    }
    for role in Role::BOTH {
        if services.is_down(role) {
            front.log(&format!(
                "stopping: the {} outage ends so its records can be delivered",
                role.as_str()
            ));
            services.set_down(role, false);
        }
    }
    let deadline = Instant::now() + DRAIN_LIMIT;
    let fingerprint = |pipeline: &LocalPipeline<'_>| {
        (
            pipeline.lag(Role::Primary),
            pipeline.lag(Role::Secondary),
            pipeline.spool.buffered(),
            services.queue.len(),
            services.store.puts(),
        )
    };
    let mut still = 0;
    loop {
        let before = fingerprint(&pipeline);
        if let Some(log) = pipeline.flush_spool_now().await {
            totals.record(vec![log]);
        }
        services.queue.make_visible();
        totals.record(pipeline.step().await);
        if pipeline.quiet() || Instant::now() > deadline {
            break;
        }
        // Nothing moved three times in a row: what is left cannot be delivered.
        still = if fingerprint(&pipeline) == before {
            still + 1
        } else {
            0
        };
        if still >= 3 {
            break;
        }
        tokio::time::sleep(RETRY_PAUSE).await;
    }

    front.write_log(Vec::new());
    let mut summary = totals.summary;
    summary.requests = lock(&front.requests).clone();
    summary.pending = Pending {
        primary_stream: pipeline.lag(Role::Primary),
        secondary_stream: pipeline.lag(Role::Secondary),
        spool_buffered: pipeline.spool.buffered(),
        queue_messages: services.queue.len(),
        dead_letters: services.queue.dead_letters().len(),
        parked: pipeline.primary_mapping.parked.len(),
    };
    summary
}
