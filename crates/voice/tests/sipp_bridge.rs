//! B2BUA with real peers: a sipp caller on the trunk (A-law tone from a pcap)
//! is bridged to a registered sipp agent (µ-law, `-rtp_echo`). Checks RTP both
//! ways through the bridge (with PCMA↔PCMU transcoding), BYE from either side
//! tearing down both legs, the stereo recording, and a busy agent.

mod common;

use common::{TRUNK_IP, free_ports, next_event, sipp, start_stack, wait_for};
use std::path::PathBuf;
use std::time::Duration;
use voice::registrar::RegistrationChange;
use voice::{CallControl, CallEvent, CallEvents, HangupCause, LegId, VoiceHandle};

/// Register agent 2001 from a fresh local port; returns that port.
async fn register_agent(handle: &VoiceHandle, events: &mut CallEvents) -> String {
    let port = free_ports([127, 0, 0, 1], 1).to_string();
    let code = sipp(
        handle.local_addr(),
        "register.xml",
        &["-s", "2001", "-au", "2001", "-ap", "agentpw", "-p", &port],
    )
    .wait()
    .await;
    assert_eq!(code, 0, "agent registration failed");
    assert!(matches!(
        next_event(events).await,
        CallEvent::Registration(RegistrationChange::Registered { .. })
    ));
    port
}

/// Answer the caller, record it, ring the agent, bridge on answer.
async fn answer_and_bridge(
    handle: &VoiceHandle,
    events: &mut CallEvents,
    recording: Option<PathBuf>,
) -> (LegId, LegId) {
    let CallEvent::Incoming { leg: caller, .. } = next_event(events).await else {
        panic!("expected the incoming call");
    };
    handle.answer(caller).await.expect("answer");
    assert_eq!(
        next_event(events).await,
        CallEvent::Answered { leg: caller }
    );
    if let Some(path) = recording {
        handle.record_start(caller, path).await.expect("record");
    }
    let agent = handle
        .originate(
            "2001".into(),
            "+33612345678".into(),
            Duration::from_secs(10),
        )
        .await
        .expect("originate");
    assert_eq!(next_event(events).await, CallEvent::Ringing { leg: agent });
    assert_eq!(next_event(events).await, CallEvent::Answered { leg: agent });
    handle.bridge(caller, agent).await.expect("bridge");
    (caller, agent)
}

struct Ended {
    cause: HangupCause,
    rx: u64,
    tx: u64,
    quality: Option<voice::quality::MediaQuality>,
}

/// Wait for `leg`'s HungUp, keeping its MediaQuality report if one comes first.
async fn hung_up(events: &mut CallEvents, leg: LegId) -> Ended {
    let mut quality = None;
    loop {
        match next_event(events).await {
            CallEvent::MediaQuality { leg: l, quality: q } if l == leg => quality = Some(q),
            CallEvent::HungUp {
                leg: l,
                cause,
                rx_packets,
                tx_packets,
            } if l == leg => {
                return Ended {
                    cause,
                    rx: rx_packets,
                    tx: tx_packets,
                    quality,
                };
            }
            _ => {}
        }
    }
}

fn sipp_agent(handle: &VoiceHandle, scenario: &str, port: &str) -> common::Sipp {
    let media = free_ports([127, 0, 0, 1], 4).to_string();
    sipp(
        handle.local_addr(),
        scenario,
        &["-p", port, "-mp", &media, "-rtp_echo"],
    )
}

fn sipp_caller(handle: &VoiceHandle, scenario: &str) -> common::Sipp {
    let port = free_ports(TRUNK_IP, 1).to_string();
    let media = free_ports(TRUNK_IP, 4).to_string();
    sipp(
        handle.local_addr(),
        scenario,
        &["-s", "3900", "-i", "127.0.0.2", "-p", &port, "-mp", &media],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caller_bye_tears_down_both_legs_and_rtp_flows_both_ways_and_is_recorded() {
    let (handle, mut events) = start_stack().await;
    let agent_port = register_agent(&handle, &mut events).await;
    let agent = sipp_agent(&handle, "agent_uas.xml", &agent_port);
    let caller = sipp_caller(&handle, "caller_audio.xml");
    let wav = std::env::temp_dir().join(format!("sb-bridge-{}.wav", std::process::id()));
    let (caller_leg, agent_leg) = answer_and_bridge(&handle, &mut events, Some(wav.clone())).await;

    let c = hung_up(&mut events, caller_leg).await;
    let a = hung_up(&mut events, agent_leg).await;
    assert_eq!(c.cause, HangupCause::RemoteBye);
    assert_eq!(a.cause, HangupCause::PeerHungUp);
    // The pcap has 100 packets (2 s); loopback does not lose any.
    assert_eq!(c.rx, 100, "caller → platform");
    assert_eq!(a.tx, 100, "platform → agent (relayed, transcoded to PCMU)");
    assert_eq!(a.rx, 100, "agent echo → platform");
    assert_eq!(
        c.tx, 100,
        "platform → caller (relayed echo, transcoded to PCMA)"
    );
    let q = c.quality.expect("caller leg quality report");
    assert_eq!((q.received, q.expected), (100, 100));
    assert_eq!(q.loss_pct, 0.0);
    assert!(q.mos > 4.0, "clean loopback stream scores high: {q:?}");

    let CallEvent::RecordingFinished {
        leg,
        path,
        duration_ms,
    } = wait_for(&mut events, |e| {
        matches!(e, CallEvent::RecordingFinished { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!((leg, &path), (caller_leg, &wav));
    let reader = hound::WavReader::open(&path).expect("recording exists");
    let spec = reader.spec();
    assert_eq!((spec.channels, spec.sample_rate), (2, 8000));
    // The caller hangs up 4 s after its ACK (1 s wait + 3 s after the tone starts).
    let secs = f64::from(reader.duration()) / 8000.0;
    assert!((3.6..=4.4).contains(&secs), "recording lasts {secs} s");
    assert_eq!(u64::from(reader.duration()) / 8, duration_ms);
    let samples: Vec<i16> = reader
        .into_samples::<i16>()
        .collect::<Result<_, _>>()
        .expect("samples");
    let energy = |ch: usize| -> f64 {
        samples
            .iter()
            .skip(ch)
            .step_by(2)
            .map(|s| f64::from(*s).powi(2))
            .sum::<f64>()
            / (samples.len() / 2) as f64
    };
    // A 2 s tone of amplitude 8000 over ~4 s: RMS² ≈ 8000²/2 · 2/4 = 16e6.
    assert!(
        energy(0) > 4e6,
        "caller channel is not silent: {}",
        energy(0)
    );
    assert!(
        energy(1) > 4e6,
        "agent channel is not silent: {}",
        energy(1)
    );
    let _ = std::fs::remove_file(&path);

    assert_eq!(caller.wait().await, 0, "sipp caller failed");
    assert_eq!(agent.wait().await, 0, "sipp agent failed");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_bye_tears_down_both_legs() {
    let (handle, mut events) = start_stack().await;
    let agent_port = register_agent(&handle, &mut events).await;
    let agent = sipp_agent(&handle, "agent_uas_bye.xml", &agent_port);
    let caller = sipp_caller(&handle, "caller_audio_wait.xml");
    let (caller_leg, agent_leg) = answer_and_bridge(&handle, &mut events, None).await;
    let a = hung_up(&mut events, agent_leg).await;
    let c = hung_up(&mut events, caller_leg).await;
    assert_eq!(a.cause, HangupCause::RemoteBye);
    assert_eq!(c.cause, HangupCause::PeerHungUp);
    assert!(c.rx > 0 && a.tx > 0, "RTP relayed caller → agent");
    assert_eq!(caller.wait().await, 0, "sipp caller failed");
    assert_eq!(agent.wait().await, 0, "sipp agent failed");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_agent_is_a_clear_event_and_unregistered_user_an_error() {
    let (handle, mut events) = start_stack().await;
    let err = handle
        .originate("2001".into(), "x".into(), Duration::from_secs(5))
        .await;
    assert!(matches!(err, Err(voice::VoiceError::NotRegistered(u)) if u == "2001"));
    let agent_port = register_agent(&handle, &mut events).await;
    let agent = sipp_agent(&handle, "agent_busy.xml", &agent_port);
    let leg = handle
        .originate(
            "2001".into(),
            "+33612345678".into(),
            Duration::from_secs(10),
        )
        .await
        .expect("originate");
    let e = hung_up(&mut events, leg).await;
    assert_eq!(e.cause, HangupCause::Busy);
    assert_eq!(agent.wait().await, 0, "sipp agent failed");
    handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_and_unhold_the_agent_with_re_invites() {
    let (handle, mut events) = start_stack().await;
    let agent_port = register_agent(&handle, &mut events).await;
    let agent = sipp_agent(&handle, "agent_uas_hold.xml", &agent_port);
    let caller = sipp_caller(&handle, "caller_audio.xml");
    let (caller_leg, agent_leg) = answer_and_bridge(&handle, &mut events, None).await;
    // The sipp agent checks a=sendonly then a=sendrecv in the two re-INVITEs.
    handle.hold(agent_leg, true).await.expect("hold accepted");
    handle
        .hold(agent_leg, false)
        .await
        .expect("unhold accepted");
    let c = hung_up(&mut events, caller_leg).await;
    let a = hung_up(&mut events, agent_leg).await;
    assert_eq!(
        (c.cause, a.cause),
        (HangupCause::RemoteBye, HangupCause::PeerHungUp)
    );
    assert_eq!(caller.wait().await, 0, "sipp caller failed");
    assert_eq!(agent.wait().await, 0, "sipp agent failed");
    handle.shutdown().await;
}
