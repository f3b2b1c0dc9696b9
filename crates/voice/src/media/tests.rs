//! Media leg tests over loopback sockets: port pairs, prompts, bridging,
//! DTMF and RTCP reports.
use super::*;

async fn next(rx: &mut mpsc::Receiver<(u8, MediaEvent)>) -> MediaEvent {
    match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
        Ok(Some((_, e))) => e,
        other => panic!("no media event: {other:?}"),
    }
}

#[tokio::test]
async fn rtp_ports_come_from_the_configured_range_until_it_is_full() {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let (etx, _erx) = mpsc::channel(64);
    let p = SendParams {
        codec: Codec::Pcmu,
        telephone_event: None,
    };
    // Find 6 free consecutive ports to make a range of 3 RTP/RTCP pairs.
    let base = loop {
        let probe = std::net::UdpSocket::bind((ip, 0)).expect("probe");
        let b = probe.local_addr().expect("addr").port() & !1;
        drop(probe);
        if b < 65000 && (0..6).all(|i| std::net::UdpSocket::bind((ip, b + i)).is_ok()) {
            break b;
        }
    };
    let range = base..=base + 5;
    let legs: Vec<MediaLeg> = (0..3)
        .map(|i| MediaLeg::start_in(ip, Some(range.clone()), p, i, etx.clone()).expect("leg"))
        .collect();
    let mut ports: Vec<u16> = legs
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect();
    ports.sort_unstable();
    assert_eq!(ports, vec![base, base + 2, base + 4]);
    let mut rtcp: Vec<u16> = legs
        .iter()
        .map(|l| l.local_rtcp_addr().expect("addr").port())
        .collect();
    rtcp.sort_unstable();
    assert_eq!(rtcp, vec![base + 1, base + 3, base + 5]);
    let full = MediaLeg::start_in(ip, Some(range), p, 9, etx);
    assert_eq!(
        full.map(|_| ()).map_err(|e| e.kind()),
        Err(std::io::ErrorKind::AddrInUse)
    );
}

#[tokio::test]
async fn looped_prompt_keeps_playing_and_a_single_one_ends() {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let (etx, mut erx) = mpsc::channel(64);
    let p = SendParams {
        codec: Codec::Pcmu,
        telephone_event: None,
    };
    let leg = MediaLeg::start(ip, p, 1u8, etx).expect("leg");
    let phone = UdpSocket::bind((ip, 0)).await.expect("bind");
    leg.set_remote(phone.local_addr().expect("addr"), p);
    leg.set_on_hold(true); // music on hold still reaches a held leg
    let one_frame = Arc::new(vec![1000i16; FRAME_SAMPLES]);
    leg.play(one_frame.clone(), false, false);
    assert_eq!(
        next(&mut erx).await,
        MediaEvent::PromptFinished { interrupted: false }
    );
    leg.play(one_frame, false, true);
    let mut buf = [0u8; 2048];
    let mut seqs = Vec::new();
    while seqs.len() < 4 {
        let (n, _) = tokio::time::timeout(Duration::from_secs(10), phone.recv_from(&mut buf))
            .await
            .expect("packet in time")
            .expect("recv");
        seqs.push(rtp::parse(&buf[..n]).expect("rtp").seq);
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)));
    leg.stop_play();
    assert_eq!(
        next(&mut erx).await,
        MediaEvent::PromptFinished { interrupted: true }
    );
}

#[tokio::test]
async fn bridge_transcodes_and_detects_dtmf() {
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let (etx, mut erx) = mpsc::channel(64);
    let pcma = SendParams {
        codec: Codec::Pcma,
        telephone_event: Some(101),
    };
    let pcmu = SendParams {
        codec: Codec::Pcmu,
        telephone_event: Some(96),
    };
    let a = MediaLeg::start(ip, pcma, 1u8, etx.clone()).expect("leg a");
    let b = MediaLeg::start(ip, pcmu, 2u8, etx).expect("leg b");
    let phone_a = UdpSocket::bind((ip, 0)).await.expect("bind");
    let phone_b = UdpSocket::bind((ip, 0)).await.expect("bind");
    a.set_remote(phone_a.local_addr().expect("addr"), pcma);
    b.set_remote(phone_b.local_addr().expect("addr"), pcmu);
    a.bridge(Some(&b));
    b.bridge(Some(&a));
    let a_addr = a.local_addr().expect("addr");
    // Round-trip a command so the bridge is installed before we send.
    a.send_dtmf("");
    let mut tx = RtpSender::new(7, 0, 0);
    let tone: Vec<i16> = (0..160)
        .map(|i| ((i as f32 * 0.2).sin() * 6000.0) as i16)
        .collect();
    let alaw = Codec::Pcma.encode(&tone);
    let mut buf = [0u8; 2048];
    // Retry until the bridge command has been applied by the task.
    let got = loop {
        phone_a
            .send_to(&tx.audio(8, &alaw, 160), a_addr)
            .await
            .expect("send");
        match tokio::time::timeout(Duration::from_millis(200), phone_b.recv_from(&mut buf)).await {
            Ok(Ok((n, _))) => break buf[..n].to_vec(),
            _ => continue,
        }
    };
    let p = rtp::parse(&got).expect("rtp");
    assert_eq!(p.payload_type, 0, "relayed as PCMU");
    assert_eq!(
        p.payload,
        Codec::Pcma.transcode(Codec::Pcmu, &alaw).as_slice()
    );
    for pkt in tx.dtmf(101, '5', 60).expect("digit") {
        phone_a.send_to(&pkt, a_addr).await.expect("send");
    }
    assert_eq!(
        next(&mut erx).await,
        MediaEvent::Dtmf {
            digit: '5',
            duration_ms: 60
        }
    );
    assert!(a.stats().rx_packets >= 2);
    assert!(b.stats().tx_packets >= 1);
}

/// Receive RTCP on `sock` until `pred` picks a packet (bounded wait).
async fn rtcp_until(
    sock: &UdpSocket,
    mut pred: impl FnMut(&[rtcp::RtcpPacket]) -> bool,
) -> Vec<rtcp::RtcpPacket> {
    let mut buf = [0u8; 1500];
    loop {
        let (n, _) = tokio::time::timeout(Duration::from_secs(10), sock.recv_from(&mut buf))
            .await
            .expect("RTCP in time")
            .expect("recv");
        let pkts = rtcp::parse(&buf[..n]).expect("our RTCP parses");
        if pred(&pkts) {
            return pkts;
        }
    }
}

#[tokio::test]
async fn a_receiving_leg_sends_receiver_reports_and_measures_rtt() {
    use rtcp::{ReportBlock, RtcpPacket};
    let ip = std::net::IpAddr::from([127, 0, 0, 1]);
    let (etx, _erx) = mpsc::channel(64);
    let p = SendParams {
        codec: Codec::Pcmu,
        telephone_event: None,
    };
    let leg = MediaLeg::start(ip, p, 1u8, etx).expect("leg");
    let rtp_addr = leg.local_addr().expect("addr");
    let rtcp_addr = leg.local_rtcp_addr().expect("addr");
    assert_eq!(rtcp_addr.port(), rtp_addr.port() + 1);
    assert_eq!(rtp_addr.port() % 2, 0);
    let phone = UdpSocket::bind((ip, 0)).await.expect("bind");
    let phone_rtcp = UdpSocket::bind((ip, 0)).await.expect("bind");
    leg.set_remote(phone.local_addr().expect("addr"), p);
    leg.set_rtcp_remote(Some(phone_rtcp.local_addr().expect("addr")));
    leg.set_rtcp_interval(Duration::from_millis(100));
    // Garbage on the RTCP port is ignored.
    phone_rtcp
        .send_to(b"\x80\xc9garbage", rtcp_addr)
        .await
        .expect("send");
    // Ten packets of SSRC 0x1234, seq 100..110 with 103 and 107 lost.
    let payload = [0xffu8; 160];
    for seq in (100u16..110).filter(|s| *s != 103 && *s != 107) {
        let pkt = rtp::build(false, 0, seq, u32::from(seq) * 160, 0x1234, &payload);
        phone.send_to(&pkt, rtp_addr).await.expect("send");
    }
    let pkts = rtcp_until(&phone_rtcp, |p| {
        matches!(p.first(), Some(RtcpPacket::ReceiverReport { reports, .. })
            if reports.first().is_some_and(|b| b.highest_seq == 109))
    })
    .await;
    let Some(RtcpPacket::ReceiverReport { ssrc, reports }) = pkts.first() else {
        unreachable!()
    };
    let block = reports[0];
    assert_eq!(block.ssrc, 0x1234);
    assert_eq!(block.cumulative_lost, 2);
    assert!(matches!(
        pkts.get(1),
        Some(RtcpPacket::SourceDescription(c)) if c[0].0 == *ssrc && c[0].1[0].0 == rtcp::SDES_CNAME
    ));
    assert_eq!((block.lsr, block.dlsr), (0, 0), "no SR from the phone yet");
    // Once the leg sends audio it reports with an SR; the phone answers
    // with an RR about it and the leg derives a round-trip time.
    leg.play(Arc::new(vec![500i16; FRAME_SAMPLES * 2]), false, false);
    let pkts = rtcp_until(&phone_rtcp, |p| {
        matches!(p.first(), Some(RtcpPacket::SenderReport { .. }))
    })
    .await;
    let Some(RtcpPacket::SenderReport {
        ssrc: our, info, ..
    }) = pkts.first()
    else {
        unreachable!()
    };
    assert_eq!(*our, *ssrc);
    assert!(info.packet_count >= 1);
    let back = ReportBlock {
        ssrc: *our,
        lsr: rtcp::ntp_middle(info.ntp),
        ..ReportBlock::default()
    };
    let rr = rtcp::build_compound(0x1234, None, &[back], "phone", false);
    let mut rtt = None;
    for _ in 0..100 {
        phone_rtcp.send_to(&rr, rtcp_addr).await.expect("send");
        tokio::time::sleep(Duration::from_millis(20)).await;
        rtt = leg.stats().quality.rtt_ms;
        if rtt.is_some() {
            break;
        }
    }
    let rtt = rtt.expect("an RTT from the phone's RR");
    assert!((0.0..10_000.0).contains(&rtt), "{rtt}");
    // Stopping the leg sends a last report with BYE.
    leg.stop();
    let pkts = rtcp_until(&phone_rtcp, |p| {
        p.iter().any(|x| matches!(x, RtcpPacket::Bye(_)))
    })
    .await;
    assert!(pkts.contains(&RtcpPacket::Bye(vec![*ssrc])));
}
