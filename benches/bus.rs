//! Cross-shard hop cost: one message, and one batch of 64, through the bus (`Outbox` → crossbeam inbox)
//! to a consumer thread and back, next to the naive baseline of one `std::sync::mpsc` send per message.
//! Both sides poll `try_recv` and yield between polls (no parking), so this measures the channel and
//! batching, not the wake-up (a parked hop is dominated by the kernel; see docs/bench).
//! Run: `cargo bench --bench bus -- --quick`.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use corenats::bus::{Bus, BusMsg, Outbox};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const BATCH: u64 = 64;

/// Spawns a shard-1 echo: every batch that arrives is answered with one `SyncAck` per message.
fn echo_pair() -> (
    Outbox,
    corenats::bus::Inbox,
    Arc<AtomicBool>,
    thread::JoinHandle<()>,
) {
    let (bus, mut inboxes) = Bus::new(2);
    let remote = inboxes.pop().expect("two inboxes");
    let local = inboxes.pop().expect("two inboxes");
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let mut remote_out = Outbox::new(1, bus.clone());
    let h = thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            if let Some(b) = remote.try_recv() {
                for m in b.msgs {
                    if let BusMsg::Sync { token } = m {
                        remote_out.push(0, BusMsg::SyncAck { token });
                    }
                }
                remote_out.flush();
            } else {
                thread::yield_now();
            }
        }
    });
    (Outbox::new(0, bus), local, stop, h)
}

fn round_trip(out: &mut Outbox, inbox: &corenats::bus::Inbox, n: u64) {
    for t in 0..n {
        out.push(1, BusMsg::Sync { token: t });
    }
    out.flush();
    let mut got = 0;
    while got < n {
        if let Some(b) = inbox.try_recv() {
            got += b.msgs.len() as u64;
        } else {
            thread::yield_now();
        }
    }
}

fn bench_bus(c: &mut Criterion) {
    let (mut out, inbox, stop, h) = echo_pair();
    let mut g = c.benchmark_group("bus_hop");
    g.throughput(Throughput::Elements(1));
    g.bench_function("bus_one_message", |b| {
        b.iter(|| round_trip(&mut out, &inbox, 1))
    });
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("bus_batch_of_64", |b| {
        b.iter(|| round_trip(&mut out, &inbox, BATCH))
    });
    g.finish();
    stop.store(true, Ordering::Relaxed);
    let _ = h.join();

    // Baseline: std mpsc, one send per message, echoed one by one.
    let (tx, rx) = mpsc::channel::<u64>();
    let (back_tx, back_rx) = mpsc::channel::<u64>();
    let h = thread::spawn(move || {
        while let Ok(v) = rx.recv() {
            if v == u64::MAX || back_tx.send(v).is_err() {
                break;
            }
        }
    });
    let mut g = c.benchmark_group("bus_hop_baseline");
    g.throughput(Throughput::Elements(BATCH));
    g.bench_function("std_mpsc_64_single_sends", |b| {
        b.iter(|| {
            for t in 0..BATCH {
                let _ = tx.send(t);
            }
            for _ in 0..BATCH {
                black_box(back_rx.recv().ok());
            }
        })
    });
    g.finish();
    let _ = tx.send(u64::MAX);
    let _ = h.join();
}

criterion_group!(benches, bench_bus);
criterion_main!(benches);
