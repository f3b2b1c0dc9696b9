//! Stand-alone voice stack for `bench/sip-load.sh` (not a product binary).
//!
//! Usage: `bench_server <sip-addr> <trunk-ip> ivr <prompt.wav>` answers every
//! trunk call, plays the prompt and hangs up when it ends; `bench_server
//! <sip-addr> <trunk-ip> bridge` answers and bridges every trunk call to the
//! registered user 2001 (password `agentpw`). On SIGINT/SIGTERM it prints one
//! summary line: `calls=<ended legs> answered=<n> failed=<n> rx=<pkts> tx=<pkts>
//! caller_rx=<pkts from callers> agent_rx=<pkts from agents>
//! relay_loss=<caller rx - agent tx + agent rx - caller tx>` (packets).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use voice::{CallControl, CallEvent, LegId, MemoryDirectory, TrunkConfig, VoiceConfig};

#[derive(Default)]
struct Totals {
    ended: u64,
    answered: u64,
    failed: u64,
    rx: u64,
    tx: u64,
    relay_loss: i64,
    caller_rx: u64,
    agent_rx: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "bench_server <sip-addr> <trunk-ip> ivr <prompt.wav> | bridge";
    let sip_addr: SocketAddr = args.get(1).ok_or(usage)?.parse()?;
    let trunk_ip: IpAddr = args.get(2).ok_or(usage)?.parse()?;
    let mode = args.get(3).ok_or(usage)?.clone();
    let prompt = args.get(4).map(PathBuf::from);
    let mut dids = HashMap::new();
    dids.insert("3900".to_string(), "bench".to_string());
    let cfg = VoiceConfig {
        sip_addr,
        media_ip: sip_addr.ip(),
        trunks: vec![TrunkConfig {
            name: "bench".into(),
            allowed_ips: vec![trunk_ip],
            dids,
            outbound: None,
            caller_id: None,
            auth_user: None,
        }],
        ..VoiceConfig::default()
    };
    let dir = Arc::new(MemoryDirectory::new([("2001", "agentpw")]));
    let (calls, mut events) = voice::start(cfg, dir).await?;
    use tokio::signal::unix::{SignalKind, signal};
    // Created once, so a signal arriving while an event is handled is not lost.
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sigint = signal(SignalKind::interrupt())?;
    let mut totals = Totals::default();
    // caller leg -> agent leg, and per-leg final counters for relay loss.
    let mut pending: HashMap<LegId, LegId> = HashMap::new();
    let mut counters: HashMap<LegId, (u64, u64)> = HashMap::new();
    let mut pairs: Vec<(LegId, LegId)> = Vec::new();
    eprintln!("bench_server listening on {}", calls.local_addr());
    loop {
        let ev = tokio::select! {
            ev = events.recv() => match ev { Some(e) => e, None => break },
            _ = sigint.recv() => break,
            _ = sigterm.recv() => break,
        };
        match ev {
            CallEvent::Incoming { leg, .. } => {
                if calls.answer(leg).await.is_err() {
                    continue;
                }
                match (mode.as_str(), &prompt) {
                    ("ivr", Some(p)) => {
                        let _ = calls.play(leg, p.clone(), false).await;
                    }
                    _ => match calls
                        .originate("2001".into(), "bench".into(), Duration::from_secs(10))
                        .await
                    {
                        Ok(agent) => {
                            pending.insert(agent, leg);
                        }
                        Err(_) => {
                            let _ = calls.hang_up(leg).await;
                        }
                    },
                }
            }
            CallEvent::Answered { leg } => {
                totals.answered += 1;
                if let Some(caller) = pending.remove(&leg)
                    && calls.bridge(caller, leg).await.is_ok()
                {
                    pairs.push((caller, leg));
                }
            }
            CallEvent::PromptFinished { leg, .. } => {
                let _ = calls.hang_up(leg).await;
            }
            CallEvent::HungUp {
                leg,
                cause,
                rx_packets,
                tx_packets,
            } => {
                totals.ended += 1;
                totals.rx += rx_packets;
                totals.tx += tx_packets;
                counters.insert(leg, (rx_packets, tx_packets));
                if matches!(
                    cause,
                    voice::HangupCause::Busy
                        | voice::HangupCause::Timeout
                        | voice::HangupCause::Rejected(_)
                ) {
                    totals.failed += 1;
                }
                if let Some(caller) = pending.remove(&leg) {
                    let _ = calls.hang_up(caller).await;
                }
            }
            _ => {}
        }
    }
    for (c, a) in pairs {
        if let (Some((crx, ctx)), Some((arx, atx))) = (counters.get(&c), counters.get(&a)) {
            totals.relay_loss += *crx as i64 - *atx as i64 + *arx as i64 - *ctx as i64;
            totals.caller_rx += crx;
            totals.agent_rx += arx;
        }
    }
    println!(
        "calls={} answered={} failed={} rx={} tx={} caller_rx={} agent_rx={} relay_loss={}",
        totals.ended,
        totals.answered,
        totals.failed,
        totals.rx,
        totals.tx,
        totals.caller_rx,
        totals.agent_rx,
        totals.relay_loss
    );
    Ok(())
}
