#!/usr/bin/env python3
"""Write tone_pcma_2s.pcap: 2 s of a 440 Hz tone as G.711 A-law RTP (PT 8),
100 packets of 20 ms, for sipp's play_pcap_audio. Run once; the pcap is kept
in the repository. A-law per ITU-T G.711 (segment + 4-bit mantissa, XOR 0x55)."""
import math, struct

def alaw(sample):
    sign = 0x80 if sample >= 0 else 0x00
    if sample < 0:
        sample = -sample - 1
    sample = min(sample, 32767) >> 3
    if sample < 32:
        seg, mant = 0, sample >> 1
    else:
        seg = 1
        while (sample >> seg) >= 32 and seg < 7:
            seg += 1
        mant = (sample >> seg) & 0x0F
    return (sign | (seg << 4) | mant) ^ 0x55

def packet(seq, ts, payload):
    rtp = struct.pack('>BBHII', 0x80, 8, seq, ts, 0x1234ABCD) + payload
    udp = struct.pack('>HHHH', 6000, 6000, 8 + len(rtp), 0) + rtp
    ip_len = 20 + len(udp)
    ip = struct.pack('>BBHHHBBH4s4s', 0x45, 0, ip_len, seq, 0, 64, 17, 0,
                     bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
    eth = b'\x00\x11\x22\x33\x44\x55' + b'\x66\x77\x88\x99\xaa\xbb' + b'\x08\x00'
    return eth + ip + udp

out = open('tone_pcma_2s.pcap', 'wb')
out.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
for n in range(100):
    samples = [int(8000 * math.sin(2 * math.pi * 440 * (n * 160 + i) / 8000)) for i in range(160)]
    pkt = packet(n, n * 160, bytes(alaw(s) for s in samples))
    t = 1_000_000 + n * 20_000
    out.write(struct.pack('<IIII', t // 1_000_000, t % 1_000_000, len(pkt), len(pkt)))
    out.write(pkt)
out.close()
