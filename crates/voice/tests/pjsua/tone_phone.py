#!/usr/bin/env python3
"""A PJSIP phone (PyPI pjsua2-python, null audio device) that speaks a tone
and records what it hears, for the supervision tests.

    tone_phone.py call   <server> <bind-ip> <dialled> <tone.wav>
    tone_phone.py answer <server> <user> <password> <tone.wav>

call:   call sip:<dialled>@<server> from <bind-ip> without registering.
answer: register with digest auth (prints "REG 200"), auto-answer one call.
Once the call's audio is up it loops <tone.wav> into the call and prints
"MEDIA". Then it obeys stdin, one command a line:

    rec <path> <ms>   record what it hears for <ms> ms into a WAV; prints
                      "REC <path>" once the file is closed
    dtmf <digits>     send RFC 2833 digits; prints "DTMF <digits>"
    hangup            hang up

It exits 0 when the call ends after being confirmed; every wait is bounded
(60 s); any other outcome exits 1.
"""
import os
import select
import sys
import time

import pjsua2 as pj

LIMIT_S = 60.0


class Phone(pj.Account):
    def __init__(self):
        super().__init__()
        self.reg_code = None
        self.calls = []

    def onRegState(self, prm):
        self.reg_code = prm.code

    def onIncomingCall(self, prm):
        call = Call(self, prm.callId)
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)
        self.calls.append(call)


class Call(pj.Call):
    def __init__(self, acc, call_id=pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.confirmed = False
        self.disconnected = False
        self.media_active = False

    def onCallState(self, prm):
        state = self.getInfo().state
        if state == pj.PJSIP_INV_STATE_CONFIRMED:
            self.confirmed = True
        if state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.disconnected = True

    def onCallMediaState(self, prm):
        self.media_active = True

    def audio(self):
        """The call's audio stream once active (else None)."""
        # Keep the CallInfo alive while iterating: its SWIG vector points
        # into it.
        info = self.getInfo()
        for i, mi in enumerate(info.media):
            if mi.type == pj.PJMEDIA_TYPE_AUDIO and mi.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                try:
                    return self.getAudioMedia(i)
                except Exception as e:  # noqa: BLE001 - reported, then retried
                    print(f"getAudioMedia({i}): {e}", file=sys.stderr)
        return None


def wav_closed(path):
    """True once pjmedia has written the RIFF size (it is 0 while open)."""
    with open(path, "rb") as f:
        head = f.read(8)
    return len(head) == 8 and head[4:8] != b"\0\0\0\0"


def say(line):
    print(line, flush=True)


def main(argv):
    mode, server = argv[1], argv[2]
    bind_ip = argv[3] if mode == "call" else "127.0.0.1"
    tone = argv[5]
    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.logConfig.level = int(os.environ.get("PJ_LOG", "1"))
    cfg.logConfig.consoleLevel = cfg.logConfig.level
    # No echo canceller, no silence suppression: the tones go out as sent.
    cfg.medConfig.ecTailLen = 0
    cfg.medConfig.noVad = True
    ep.libInit(cfg)
    tcfg = pj.TransportConfig()
    tcfg.port = 0
    tcfg.boundAddress = bind_ip
    tcfg.publicAddress = bind_ip
    ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, tcfg)
    ep.libStart()
    # The null device clocks the conference bridge (and so the call's RTP).
    ep.audDevManager().setNullDev()

    end = time.time() + LIMIT_S

    def pump(cond):
        last = 0
        while time.time() < end and not cond():
            ep.libHandleEvents(10)
            if os.environ.get("TONE_DEBUG") and time.time() - last > 1:
                last = time.time()
                for c in acc.calls + ([call] if mode == "call" else []):
                    i = c.getInfo()
                    print(f"{mode}: {i.stateText} conf={c.confirmed} ma={c.media_active} "
                          f"{[(m.type, m.status) for m in i.media]} audio={c.audio()!r}", file=sys.stderr)
        return cond()

    acfg = pj.AccountConfig()
    acfg.mediaConfig.transportConfig.boundAddress = bind_ip
    acc = Phone()
    call = None
    if mode == "answer":
        user, password = argv[3], argv[4]
        acfg.idUri = f"sip:{user}@{server}"
        acfg.regConfig.registrarUri = f"sip:{server}"
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", user, 0, password))
        acc.create(acfg)
        registered = pump(lambda: acc.reg_code == 200)
        say(f"REG {acc.reg_code}")
        if not registered or not pump(lambda: len(acc.calls) > 0):
            os._exit(1)
        call = acc.calls[0]
    else:
        dialled = argv[4]
        acfg.idUri = f"sip:+33699999999@{bind_ip}"
        acc.create(acfg)
        call = Call(acc)
        acc.calls.append(call)
        call.makeCall(f"sip:{dialled}@{server}", pj.CallOpParam(True))
    ok = pump(lambda: (call.confirmed and call.media_active and call.audio() is not None)
              or call.disconnected)
    if not ok or call.disconnected:
        info = call.getInfo()
        print(f"no media: state {info.stateText} media "
              f"{[(m.type, m.status) for m in info.media]}", file=sys.stderr)
        say("NO MEDIA")
        os._exit(1)
    media = call.audio()
    player = pj.AudioMediaPlayer()
    player.createPlayer(tone, 0)
    player.startTransmit(media)
    say("MEDIA")

    recording = None  # (recorder, path, until)
    buf = ""
    while time.time() < end and not call.disconnected:
        ep.libHandleEvents(10)
        if recording is not None and time.time() >= recording[2]:
            rec, path, _ = recording
            media.stopTransmit(rec)
            del rec
            recording = None
            # The recorder is destroyed (and its WAV header written) by a
            # job the main loop runs: pump until the header has its size.
            pump(lambda: wav_closed(path))
            say(f"REC {path}")
        r, _, _ = select.select([sys.stdin], [], [], 0)
        if not r:
            continue
        chunk = os.read(sys.stdin.fileno(), 4096).decode()
        if not chunk:
            continue
        buf += chunk
        while "\n" in buf:
            line, buf = buf.split("\n", 1)
            words = line.split()
            if not words:
                continue
            if words[0] == "rec" and recording is None:
                rec = pj.AudioMediaRecorder()
                rec.createRecorder(words[1])
                media.startTransmit(rec)
                recording = (rec, words[1], time.time() + int(words[2]) / 1000.0)
            elif words[0] == "dtmf":
                call.dialDtmf(words[1])
                say(f"DTMF {words[1]}")
            elif words[0] == "hangup":
                call.hangup(pj.CallOpParam(True))
    ok = call.disconnected
    say(f"ENDED {ok}")
    # pjsua2's Python objects crash on teardown after a call: leave without
    # destroying the library.
    sys.stdout.flush()
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
